// The notification center: a bell in the header with the unread count, and a panel of the
// feed, each entry read or unread, with "mark all read". Marks are commands
// (POST /api/notifications/read, /read-all) on the reader's own stream, so they reach every
// tab and survive a replay; after one the feed is read again at the command's position. New
// notifications arrive over the `myNotifications` subscription and the count follows them.
import { useContext, useEffect, useRef, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { command, type Session } from "./api";
import { graphql } from "./gql";
import { LangContext, noticeLabels, useT } from "./i18n";
import { noticeHref, shortTime } from "./format";

const FEED = graphql(`
  query Feed {
    notifications(first: 30) { id documentId kind title at read }
    unreadNotificationCount
  }
`);

const ARRIVED = graphql(`
  subscription FeedArrived {
    myNotifications { resync id }
  }
`);

export function Notifications({ session }: { session: Session }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [open, setOpen] = useState(false);
  const bell = useRef<HTMLButtonElement>(null);
  // Escape closes the panel and gives the focus back to the bell.
  const close = () => {
    setOpen(false);
    bell.current?.focus();
  };
  const [error, setError] = useState<string | null>(null);
  const [feed, refetch] = useQuery({ query: FEED, requestPolicy: "cache-and-network" });
  const reload = () => refetch({ requestPolicy: "network-only" });
  const [arrived] = useSubscription({ query: ARRIVED });
  useEffect(() => {
    if (arrived.data?.myNotifications) reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [arrived.data]);
  const entries = feed.data?.notifications ?? [];
  const unread = feed.data?.unreadNotificationCount ?? 0;
  const mark = async (marks: { id: string; at: string }[]) => {
    setError(null);
    try {
      await command(session, "/api/notifications/read", {}, { notifications: marks });
      reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const markAll = async () => {
    setError(null);
    try {
      // Through the newest entry shown: one that arrives meanwhile stays unread.
      await command(session, "/api/notifications/read-all", {}, { through: entries[0]?.at ?? null });
      reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div className="bell">
      <button
        type="button"
        aria-expanded={open}
        aria-controls="notification-panel"
        data-testid="bell"
        ref={bell}
        onClick={() => setOpen(!open)}
      >
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
          <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" />
        </svg>
        <span className="sr-only">{t("notifications")}</span>
        {unread > 0 && (
          <>
            <span className="badge" data-testid="unread-count">
              {unread}
            </span>
            <span className="sr-only">{t("unread")}</span>
          </>
        )}
      </button>
      {open && (
        <section
          id="notification-panel"
          className="panel"
          aria-label={t("notifications")}
          data-testid="notification-panel"
          onKeyDown={(e) => {
            if (e.key === "Escape") close();
          }}
        >
          <header>
            <h2>{t("notifications")}</h2>
            <button type="button" onClick={markAll} disabled={unread === 0} data-testid="mark-all-read">
              {t("markAllRead")}
            </button>
          </header>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          {entries.length === 0 && <p>{t("noNotifications")}</p>}
          <ul>
            {entries.map((n) => (
              <li key={n.id} className={n.read ? "read" : "unread"} data-testid="notification" data-read={n.read}>
                <a
                  href={noticeHref({ kind: n.kind, documentId: n.documentId })}
                  onClick={() => {
                    if (!n.read) void mark([{ id: n.id, at: n.at }]);
                    setOpen(false);
                  }}
                >
                  {!n.read && <span className="dot" aria-label={t("unread")} />}
                  <strong>{noticeLabels[lang][n.kind]}</strong> {n.title} <time dateTime={n.at}>{shortTime(n.at)}</time>
                </a>
                {!n.read && (
                  <button type="button" onClick={() => void mark([{ id: n.id, at: n.at }])} data-testid="mark-read">
                    {t("markRead")}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
