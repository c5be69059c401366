// A document's attachments: name, size and a download that carries the viewer's token (the
// command API answers the bytes only to those who may see the document).
import { useState } from "react";
import { downloadAttachment, type Session } from "../../api";
import { graphql, useFragment, type FragmentType } from "../../gql";
import { useT } from "../../i18n";
import { formatSize } from "../../format";

export const AttachmentsFragment = graphql(`
  fragment DocumentAttachments on Approval {
    documentId
    attachments { id name size contentType sha256 }
    proxyActions { delegationId }
  }
`);

export function Attachments(props: { doc: FragmentType<typeof AttachmentsFragment>; session: Session }) {
  const t = useT();
  const doc = useFragment(AttachmentsFragment, props.doc);
  const [error, setError] = useState<string | null>(null);
  if (doc.attachments.length === 0) return null;
  return (
    <section className="attachments" aria-label={t("attachments")}>
      <h2>{t("attachments")}</h2>
      <ul data-testid="attachments">
        {doc.attachments.map((a) => (
          <li key={a.id}>
            <button
              type="button"
              className="link"
              disabled={!a.sha256}
              data-testid="download"
              onClick={() => {
                setError(null);
                downloadAttachment(props.session, doc.documentId, a.id, a.name, doc.proxyActions[0]?.delegationId).catch((e: unknown) =>
                  setError(String(e)),
                );
              }}
            >
              {a.name}
            </button>{" "}
            <span className="size">({formatSize(a.size)})</span>
          </li>
        ))}
      </ul>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
