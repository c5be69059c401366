// 결재함: the boxes with counts, search, cursor paging, bulk approve of pending documents.
import { useState } from "react";
import { useClient, useQuery, useSubscription } from "urql";
import { command, CommandError, type Session } from "../api";
import { LangContext, boxLabels, statusLabels, useT } from "../i18n";
import { useContext } from "react";
import { graphql } from "../gql";
import type { InboxBox } from "../gql/graphql";
import { shortTime } from "../format";

export const BOXES: InboxBox[] = ["PENDING", "UPCOMING", "IN_PROGRESS", "COMPLETED", "REJECTED", "CC", "RECEIVED", "DRAFTS"];

/** The box a route names, if it names one. */
export function boxOf(name: string | undefined): InboxBox | undefined {
  return BOXES.find((b) => b === name);
}

const INBOX = graphql(`
  query Inbox($box: InboxBox!, $after: String, $text: String) {
    inbox(box: $box, first: 20, after: $after, text: $text) {
      counts { inbox count }
      entries {
        edges { cursor node { documentId title status updatedAt drafter { name } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

const VERSION = graphql(`
  query DocVersion($id: ID!) {
    approval(id: $id) { version }
  }
`);

// Asks for a resync at open: the boxes were read before the subscription was routed (and are
// again after a lost connection), so they are read once more when it is.
const CHANGED = graphql(`
  subscription InboxChanged {
    inboxChanged(resyncAtOpen: true) { documentId resync }
  }
`);

export function Inbox({ box, session }: { box: InboxBox; session: Session }) {
  const t = useT();
  const lang = useContext(LangContext);
  const client = useClient();
  const [text, setText] = useState("");
  const [after, setAfter] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [results, setResults] = useState<Record<string, string>>({});
  const [{ data, fetching, error }, refetch] = useQuery({
    query: INBOX,
    variables: { box, after, text: text || null },
    requestPolicy: "cache-and-network",
  });
  // Live: a change to one of my boxes refreshes counts and the list.
  useSubscription({ query: CHANGED }, (_, change) => {
    refetch({ requestPolicy: "network-only" });
    return change;
  });
  const counts = new Map((data?.inbox.counts ?? []).map((c) => [c.inbox, c.count]));
  const edges = data?.inbox.entries.edges ?? [];
  const approveSelected = async () => {
    const out: Record<string, string> = {};
    for (const id of selected) {
      try {
        const doc = await client.query(VERSION, { id }, { requestPolicy: "network-only" }).toPromise();
        await command(session, "/api/approvals/{id}/approve", { id }, {}, doc.data?.approval?.version);
        out[id] = t("done");
      } catch (e) {
        out[id] = e instanceof CommandError ? `${t("failed")}: ${e.message}` : String(e);
      }
    }
    setResults(out);
    setSelected(new Set());
    refetch({ requestPolicy: "network-only" });
  };
  return (
    <div className="inbox">
      <nav className="boxes" aria-label={t("inbox")}>
        {BOXES.map((b) => (
          <a key={b} href={`#/inbox/${b}`} className={b === box ? "active" : ""} data-testid={`box-${b}`}>
            {boxLabels[lang][b]} <span className="count">{counts.get(b) ?? 0}</span>
          </a>
        ))}
      </nav>
      <section>
        <input
          placeholder={t("search")}
          aria-label={t("search")}
          value={text}
          onChange={(e) => {
            setAfter(null);
            setText(e.target.value);
          }}
        />
        {box === "PENDING" && selected.size > 0 && (
          <button onClick={approveSelected} data-testid="bulk-approve">
            {t("approveSelected")} ({selected.size})
          </button>
        )}
        {error && <p className="error">{error.message}</p>}
        {!fetching && edges.length === 0 && <p className="empty">{t("empty")}</p>}
        <table>
          <tbody>
            {edges.map(({ node }) => (
              <tr key={node.documentId} data-testid="inbox-row">
                {box === "PENDING" && (
                  <td>
                    <input
                      type="checkbox"
                      aria-label={node.title}
                      checked={selected.has(node.documentId)}
                      onChange={(e) => {
                        const next = new Set(selected);
                        if (e.target.checked) next.add(node.documentId);
                        else next.delete(node.documentId);
                        setSelected(next);
                      }}
                    />
                  </td>
                )}
                <td>
                  <a href={`#/doc/${node.documentId}`}>{node.title}</a>
                  {results[node.documentId] && <span className="result"> — {results[node.documentId]}</span>}
                </td>
                <td>{node.drafter?.name}</td>
                <td>{statusLabels[lang][node.status]}</td>
                <td>{shortTime(node.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {data?.inbox.entries.pageInfo.hasNextPage && (
          <button onClick={() => setAfter(data.inbox.entries.pageInfo.endCursor ?? null)}>{t("more")}</button>
        )}
      </section>
    </div>
  );
}
