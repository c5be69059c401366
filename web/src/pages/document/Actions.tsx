// The actions the viewer may take on a document now — exactly the ones the query API lists
// (`viewerActions`, and `proxyActions` for 대결), which the domain computes — and sending them
// to the command API with the version on screen in If-Match.
import { useState } from "react";
import { command, CommandError, type Session } from "../../api";
import { graphql, useFragment, type FragmentType } from "../../gql";
import type { ApprovalAction } from "../../gql/graphql";
import { useT, type Key } from "../../i18n";
import { FieldValueFragment, LineFragment, bodyForCommand, lineForCommand } from "../../format";

export const ActionsFragment = graphql(`
  fragment DocumentActions on Approval {
    documentId
    version
    title
    viewerActions
    proxyActions { delegationId principal { name } actions }
    body { key value { ...FieldValueParts } }
    line { ...LineParts }
    attachments { id name contentType sha256 }
  }
`);

/** The buttons the document screen offers, in order, with their labels. Actions the domain
 * allows but this screen does not offer (draft editing, 반려 to the previous step) are left out. */
const OFFERED: [ApprovalAction, Key][] = [
  ["APPROVE", "approve"],
  ["APPROVE_AS_FINAL", "approveFinal"],
  ["REJECT", "reject"],
  ["HOLD", "hold"],
  ["RELEASE", "release"],
  ["CANCEL_APPROVAL", "cancelApproval"],
  ["WITHDRAW", "withdraw"],
  ["RESUBMIT", "resubmit"],
  ["COMMENT", "comment"],
];

export function Actions(props: { doc: FragmentType<typeof ActionsFragment>; session: Session; onDone: () => void }) {
  const t = useT();
  const doc = useFragment(ActionsFragment, props.doc);
  const [note, setNote] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const { session } = props;
  const id = { id: doc.documentId };
  const send = (action: ApprovalAction, delegation?: string): Promise<unknown> => {
    const decision = { comment: note || null, delegation };
    switch (action) {
      case "APPROVE":
        return command(session, "/api/approvals/{id}/approve", id, decision, doc.version);
      case "APPROVE_AS_FINAL":
        return command(session, "/api/approvals/{id}/approve-final", id, decision, doc.version);
      case "REJECT":
        return command(session, "/api/approvals/{id}/reject", id, { reason: note, delegation }, doc.version);
      case "HOLD":
        return command(session, "/api/approvals/{id}/hold", id, { reason: note, delegation }, doc.version);
      case "RELEASE":
        return command(session, "/api/approvals/{id}/release", id, { delegation }, doc.version);
      case "CANCEL_APPROVAL":
        return command(session, "/api/approvals/{id}/cancel-approval", id, {}, doc.version);
      case "WITHDRAW":
        return command(session, "/api/approvals/{id}/withdraw", id, {}, doc.version);
      case "RESUBMIT": {
        // 재상신: the same content and line as the next revision.
        const body = bodyForCommand(doc.body.map((f) => ({ key: f.key, value: useFragment(FieldValueFragment, f.value) })));
        const line = lineForCommand(useFragment(LineFragment, doc.line));
        // Its attachments go again too: the same stored bytes, by hash.
        const attachments = doc.attachments.flatMap((a) => (a.sha256 ? [{ id: a.id, name: a.name, content_type: a.contentType, sha256: a.sha256 }] : []));
        return command(session, "/api/approvals/{id}/resubmit", id, { title: doc.title, body, line, attachments }, doc.version);
      }
      case "COMMENT":
        return command(session, "/api/approvals/{id}/comments", id, { text: note });
      default:
        return Promise.reject(new Error(action));
    }
  };
  const act = async (action: ApprovalAction, delegation?: string) => {
    setMessage(null);
    try {
      await send(action, delegation);
      setNote("");
      setMessage(t("done"));
    } catch (e) {
      setMessage(e instanceof CommandError && e.status === 409 ? t("conflict") : e instanceof Error ? e.message : String(e));
    }
    props.onDone();
  };
  const offered = OFFERED.filter(([a]) => doc.viewerActions.includes(a));
  const proxies = doc.proxyActions.filter((p) => p.actions.includes("APPROVE"));
  return (
    <>
      {(offered.length > 0 || proxies.length > 0) && (
        <section className="actions">
          <input
            placeholder={`${t("comment")} / ${t("reason")}`}
            value={note}
            onChange={(e) => setNote(e.target.value)}
            aria-label={t("reason")}
          />
          {offered.map(([action, label]) => (
            <button key={action} onClick={() => act(action)} data-testid={`action-${label}`}>
              {t(label)}
            </button>
          ))}
          {proxies.map((p) => (
            <button key={p.delegationId} onClick={() => act("APPROVE", p.delegationId)} data-testid="action-proxy">
              {t("proxyApprove")} ({p.principal?.name})
            </button>
          ))}
        </section>
      )}
      {message && (
        <p className="message" data-testid="message">
          {message}
        </p>
      )}
    </>
  );
}
