// One document: line with each step's state, recipients, body, comments, timeline, an
// "as of" slider over its past states, and the actions the viewer may take now.
import { useState } from "react";
import { useQuery, useSubscription } from "urql";
import { command, CommandError, type Session } from "../api";
import { LangContext, actionLabels, statusLabels, stepLabels, useT, type Key } from "../i18n";
import { useContext } from "react";
import { actionsFor, bodyForCommand, instants, lineForResubmit, proxySeats, shortTime } from "../format";

const FIELDS = `documentId title status version formId revision number amount body line drafterId holdReason
  drafter { name }
  authority { tableVersion row { form upTo finalRank } finalApprover { name } }
  steps { index kind state required finalAuthority members { employeeId employee { name } decision { verdict at byEmployeeId proxy finalAuthority } } }
  cc { name } receivers { name }
  comments { byEmployeeId text at }
  timeline { version action at note actor { name } }`;

const DOC = `query Doc($id: ID!) { approval(id: $id) { ${FIELDS} } }`;
const AS_OF = `query DocAsOf($id: ID!, $at: DateTime!) { approvalAsOf(id: $id, at: $at) { ${FIELDS} asOf } }`;
const LABELS = `{ forms { id fields } myDelegations { delegationId principalId principal { name } } }`;
const UPDATED = `subscription Updated($id: ID!) { approvalUpdated(id: $id) { version status resync } }`;

const PATHS: Record<string, string> = {
  approve: "approve",
  approveFinal: "approve-final",
  reject: "reject",
  withdraw: "withdraw",
  cancelApproval: "cancel-approval",
  hold: "hold",
  release: "release",
};

export function DocumentView({ id, session }: { id: string; session: Session }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [at, setAt] = useState<string | null>(null);
  const [note, setNote] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [now, refetch] = useQuery({ query: DOC, variables: { id }, requestPolicy: "cache-and-network" });
  const [past] = useQuery({ query: AS_OF, variables: { id, at }, pause: !at });
  const [forms] = useQuery({ query: LABELS });
  useSubscription({ query: UPDATED, variables: { id } }, (_, update) => {
    refetch({ requestPolicy: "network-only" });
    return update;
  });
  const current = now.data?.approval;
  if (now.fetching && !current) return <p>…</p>;
  if (!current) return <p className="error" data-testid="not-found">{t("notFound")}</p>;
  const doc = at && past.data?.approvalAsOf ? past.data.approvalAsOf : current;
  const fieldDefs: { key: string; label_ko: string; label_en: string }[] =
    forms.data?.forms.find((f: { id: string }) => f.id === current.formId)?.fields ?? [];
  const label = (key: string) => {
    const f = fieldDefs.find((d) => d.key === key);
    return f ? (lang === "ko" ? f.label_ko : f.label_en) : key;
  };
  const moments = instants(current.timeline);
  const act = async (action: string, delegation?: string) => {
    setMessage(null);
    try {
      if (action === "comment") {
        await command(session, `/api/approvals/${id}/comments`, { text: note });
      } else if (action === "resubmit") {
        // 재상신: the same content and line as the next revision.
        const body = bodyForCommand((current.body ?? {}) as Record<string, unknown>);
        await command(session, `/api/approvals/${id}/resubmit`, { title: current.title, body, line: lineForResubmit(current.line) }, current.version);
      } else {
        const needsReason = action === "reject" || action === "hold";
        const body = needsReason
          ? { reason: note, delegation }
          : action === "approve" || action === "approveFinal"
            ? { comment: note || null, delegation }
            : {};
        await command(session, `/api/approvals/${id}/${PATHS[action]}`, body, current.version);
      }
      setNote("");
      setMessage(t("done"));
    } catch (e) {
      setMessage(e instanceof CommandError && e.status === 409 ? t("conflict") : e instanceof Error ? e.message : String(e));
    }
    refetch({ requestPolicy: "network-only" });
  };
  const actions = at ? [] : actionsFor(current, session.employeeId);
  const delegations: { delegationId: string; principalId: string; principal?: { name: string } }[] =
    forms.data?.myDelegations ?? [];
  const proxies = at ? [] : proxySeats(current.steps, delegations);
  return (
    <article className="document" data-testid="document">
      <h1>{doc.title}</h1>
      <p>
        <span data-testid="status">{statusLabels[lang][doc.status] ?? doc.status}</span> · {t("drafter")} {doc.drafter?.name}
        {doc.revision > 1 && <span data-testid="revision"> · {t("revision")} {doc.revision}</span>}
        {doc.number && <> · {doc.number}</>} · v{doc.version}
      </p>
      <label className="asof">
        {t("asOf")}:{" "}
        <input
          type="range"
          min={0}
          max={moments.length}
          value={at ? moments.indexOf(at) : moments.length}
          aria-label={t("asOf")}
          onChange={(e) => {
            const i = Number(e.target.value);
            setAt(i >= moments.length ? null : moments[i]);
          }}
        />{" "}
        {at ? shortTime(at) : t("now")}
      </label>
      <h2>{t("line")}</h2>
      <ol className="line">
        {doc.steps.map((s: { index: number; kind: string; state: string; finalAuthority: boolean; members: { employeeId: string; employee?: { name: string }; decision?: { verdict: string; at: string; proxy: boolean } }[] }) => (
          <li key={s.index} className={`step ${s.state.toLowerCase()}`} data-testid="step">
            <span className="kind">{s.kind === "AGREEMENT" ? "합의" : "결재"}</span>{" "}
            {s.members.map((m) => (
              <span key={m.employeeId} className="member">
                {m.employee?.name} {m.decision ? `✔ ${m.decision.verdict}${m.decision.proxy ? " (대결)" : ""} ${shortTime(m.decision.at)}` : ""}
              </span>
            ))}
            {s.finalAuthority && <span className="authority"> ({t("finalAuthority")}) </span>}
            <span className="state">{stepLabels[lang][s.state] ?? s.state}</span>
          </li>
        ))}
      </ol>
      {doc.authority && (
        <p className="authority-rule" data-testid="authority-rule">
          {t("authorityRule")} v{doc.authority.tableVersion}: {t("rankAtLeast")} {doc.authority.row.finalRank}
          {doc.authority.row.upTo ? ` (≤ ${doc.authority.row.upTo})` : ""}
          {doc.authority.finalApprover ? ` · ${t("finalAuthority")}: ${doc.authority.finalApprover.name}` : ""}
        </p>
      )}
      {doc.cc.length > 0 && <p>{t("cc")}: {doc.cc.map((c: { name: string }) => c.name).join(", ")}</p>}
      {doc.receivers.length > 0 && <p>{t("receivers")}: {doc.receivers.map((r: { name: string }) => r.name).join(", ")}</p>}
      <section className="body">
        {Object.entries((doc.body ?? {}) as Record<string, { value?: unknown }>).map(([k, v]) => (
          <p key={k}>
            <strong>{label(k)}</strong>: {typeof v === "object" && v && "value" in v ? String(v.value) : JSON.stringify(v)}
          </p>
        ))}
      </section>
      {(actions.length > 0 || proxies.length > 0) && (
        <section className="actions">
          <input placeholder={`${t("comment")} / ${t("reason")}`} value={note} onChange={(e) => setNote(e.target.value)} aria-label={t("reason")} />
          {actions.map((a) => (
            <button key={a} onClick={() => act(a)} data-testid={`action-${a}`}>
              {t(a as Key)}
            </button>
          ))}
          {proxies.map((p) => (
            <button key={p.delegationId} onClick={() => act("approve", p.delegationId)} data-testid="action-proxy">
              {t("proxyApprove")} ({delegations.find((d) => d.delegationId === p.delegationId)?.principal?.name})
            </button>
          ))}
        </section>
      )}
      {message && <p className="message" data-testid="message">{message}</p>}
      <h2>{t("comments")}</h2>
      <ul>
        {doc.comments.map((c: { text: string; at: string }, i: number) => (
          <li key={i}>{shortTime(c.at)} {c.text}</li>
        ))}
      </ul>
      <h2>{t("timeline")}</h2>
      <ol className="timeline" data-testid="timeline">
        {doc.timeline.map((e: { version: number; action: string; at: string; note?: string; actor?: { name: string } }) => (
          <li key={e.version}>
            {shortTime(e.at)} {e.actor?.name} {actionLabels[lang][e.action.replace("approval.", "")] ?? e.action}{" "}
            {e.note ? `— ${e.note}` : ""}
          </li>
        ))}
      </ol>
    </article>
  );
}
