// One document: its header, an "as of" slider over its past states, and its parts — line,
// body, the actions the viewer may take now, comments, timeline — each in its own component
// (src/pages/document/) with the fragment it reads. It refreshes on `approvalUpdated`.
import { useContext, useEffect, useState } from "react";
import { useQuery, useSubscription } from "urql";
import type { Session } from "../api";
import { graphql, useFragment } from "../gql";
import { LangContext, statusLabels, useT } from "../i18n";
import { instants, shortTime } from "../format";
import { Line } from "./document/Line";
import { Grid } from "./document/Grid";
import { Attachments } from "./document/Attachments";
import { downloadPdf } from "../api";
import { Body } from "./document/Body";
import { Actions } from "./document/Actions";
import { Comments } from "./document/Comments";
import { Timeline } from "./document/Timeline";

const PartsFragment = graphql(`
  fragment DocumentParts on Approval {
    title
    status
    version
    revision
    number
    drafter { name }
    ...DocumentLine
    ...DocumentGrid
    ...DocumentAttachments
    ...DocumentBody
    ...DocumentActions
    ...DocumentComments
    ...DocumentTimeline
  }
`);

const DOC = graphql(`
  query Doc($id: ID!) {
    approval(id: $id) {
      ...DocumentParts
      version
      timeline { at }
    }
  }
`);

const AS_OF = graphql(`
  query DocAsOf($id: ID!, $at: DateTime!) {
    approvalAsOf(id: $id, at: $at) { ...DocumentParts asOf }
  }
`);

const UPDATED = graphql(`
  subscription Updated($id: ID!, $since: Int) {
    approvalUpdated(id: $id, since: $since) { version status resync }
  }
`);

export function DocumentView({ id, session }: { id: string; session: Session }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [at, setAt] = useState<string | null>(null);
  const [now, refetch] = useQuery({ query: DOC, variables: { id }, requestPolicy: "cache-and-network" });
  const [past] = useQuery({ query: AS_OF, variables: { id, at: at ?? "" }, pause: !at });
  const reload = () => refetch({ requestPolicy: "network-only" });
  // The subscription opens once the page has read the document from the server (not the
  // client's cache, which may be older), told the version read: a change landing between the
  // read and the subscription then arrives as a resync instead of reaching neither (the page
  // would stay at the version it read).
  const loaded = now.stale ? undefined : now.data?.approval?.version;
  const [opened, setOpened] = useState<{ id: string; version: number } | null>(null);
  useEffect(() => {
    if (loaded !== undefined && opened?.id !== id) setOpened({ id, version: loaded });
  }, [id, loaded, opened]);
  const since = opened?.id === id ? opened.version : undefined;
  useSubscription({ query: UPDATED, variables: { id, since }, pause: since === undefined }, (_, update) => {
    reload();
    return update;
  });
  const current = now.data?.approval;
  if (now.fetching && !current) return <p>…</p>;
  if (!current) {
    return (
      <p className="error" data-testid="not-found">
        {t("notFound")}
      </p>
    );
  }
  const doc = useFragment(PartsFragment, (at && past.data?.approvalAsOf) || current);
  const moments = instants(current.timeline);
  return (
    <article className="document" data-testid="document">
      <h1>{doc.title}</h1>
      <p>
        <span data-testid="status">{statusLabels[lang][doc.status]}</span> · {t("drafter")} {doc.drafter?.name}
        {doc.revision > 1 && (
          <span data-testid="revision">
            {" "}
            · {t("revision")} {doc.revision}
          </span>
        )}
        {doc.number && <> · {doc.number}</>} · v{doc.version}
      </p>
      <Grid doc={doc} />
      <button type="button" className="print-button" onClick={() => print()} data-testid="print">
        {t("print")}
      </button>{" "}
      <button
        type="button"
        className="print-button"
        onClick={() => void downloadPdf(session, id, `${doc.number ?? id}.pdf`).catch((e: unknown) => alert(String(e)))}
        data-testid="pdf"
      >
        PDF
      </button>
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
      <Line doc={doc} />
      <Body doc={doc} />
      <Attachments doc={doc} session={session} />
      <Actions doc={doc} session={session} onDone={reload} />
      <Comments doc={doc} />
      <Timeline doc={doc} />
    </article>
  );
}
