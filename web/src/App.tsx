// The shell: session, language, hash routes, live toasts.
import { useEffect, useMemo, useState } from "react";
import { Provider, useSubscription } from "urql";
import { graphqlClient, loadSession, saveSession, signedInFrom, takeSignInValue, type Session } from "./api";
import { LangContext, dictionaries, noticeLabels, type Lang } from "./i18n";
import { graphql } from "./gql";
import { noticeHref } from "./format";
import { Login } from "./pages/Login";
import { Inbox, boxOf } from "./pages/Inbox";
import { DocumentView } from "./pages/Document";
import { Compose } from "./pages/Compose";
import { Admin } from "./pages/Admin";
import { Attendance } from "./pages/Attendance";
import { Quests } from "./pages/Quests";
import { Notifications } from "./Notifications";
import { Search } from "./pages/Search";

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/inbox/PENDING");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/inbox/PENDING");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

type Toast = { id: string; text: string; href: string };

const LIVE = graphql(`
  subscription Live {
    myNotifications { resync id documentId subjectId kind title forEmployeeId }
  }
`);

function Toasts({ lang }: { lang: Lang }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [result] = useSubscription({ query: LIVE });
  useEffect(() => {
    const n = result.data?.myNotifications;
    if (!n || n.resync || !n.id || !n.kind) return;
    const proxy = n.forEmployeeId ? ` (${dictionaries[lang].proxyApprove})` : "";
    const toast = { id: n.id, text: `${n.title ?? ""} — ${noticeLabels[lang][n.kind]}${proxy}`, href: noticeHref({ kind: n.kind, documentId: n.documentId }) };
    setToasts((all) => [toast, ...all.filter((t) => t.id !== toast.id)].slice(0, 4));
    const timer = setTimeout(() => setToasts((all) => all.filter((t) => t.id !== toast.id)), 8000);
    return () => clearTimeout(timer);
  }, [result.data, lang]);
  return (
    <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
      {toasts.map((t) => (
        <a key={t.id} className="toast" href={t.href}>
          <strong>{dictionaries[lang].live}</strong> {t.text}
        </a>
      ))}
    </div>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null>(() => {
    // Back from the identity provider: keep the session it handed over, and take the token
    // out of the address bar and the history.
    if (location.hash.startsWith("#/signed-in?")) {
      const handed = signedInFrom(location.hash, takeSignInValue());
      history.replaceState(null, "", "#/inbox/PENDING");
      if (handed) {
        saveSession(handed);
        return handed;
      }
    }
    return loadSession();
  });
  const [lang, setLang] = useState<Lang>(() => (localStorage.getItem("erp.lang") === "en" ? "en" : "ko"));
  const hash = useHash();
  const client = useMemo(() => (session ? graphqlClient(session) : null), [session]);
  const t = dictionaries[lang];
  const switchLang = () => {
    const next = lang === "ko" ? "en" : "ko";
    localStorage.setItem("erp.lang", next);
    setLang(next);
  };
  if (!session || !client) {
    return (
      <LangContext.Provider value={lang}>
        <Login
          onLogin={(s) => {
            saveSession(s);
            setSession(s);
          }}
          onLang={switchLang}
        />
      </LangContext.Provider>
    );
  }
  const [, route, arg] = hash.split("/");
  let page;
  if (route === "doc" && arg) page = <DocumentView key={arg} id={arg} session={session} />;
  else if (route === "compose") page = <Compose session={session} />;
  else if (route === "admin") page = <Admin session={session} />;
  else if (route === "attendance") page = <Attendance session={session} />;
  else if (route === "quests") page = <Quests session={session} />;
  else if (route === "search") page = <Search session={session} />;
  else page = <Inbox box={boxOf(arg) ?? "PENDING"} session={session} />;
  return (
    <LangContext.Provider value={lang}>
      <Provider value={client}>
        <header className="top">
          <a href="#/inbox/PENDING" className="brand">{t.appTitle}</a>
          <nav>
            <a href="#/inbox/PENDING">{t.inbox}</a>
            <a href="#/compose" data-testid="nav-compose">{t.compose}</a>
            <a href="#/search" data-testid="nav-search">{t.documentSearch}</a>
            <a href="#/admin">{t.admin}</a>
            <a href="#/attendance" data-testid="nav-attendance">{t.attendance}</a>
            <a href="#/quests" data-testid="nav-quests">{t.quests}</a>
          </nav>
          <Notifications session={session} />
          <span className="who" data-testid="who">{session.name}</span>
          <button onClick={switchLang}>{t.language}</button>
          <button
            onClick={() => {
              saveSession(null);
              setSession(null);
            }}
          >
            {t.logout}
          </button>
        </header>
        <main>{page}</main>
        <Toasts lang={lang} />
      </Provider>
    </LangContext.Provider>
  );
}
