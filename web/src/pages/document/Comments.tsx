// The comments (의견) on a document, oldest first.
import { graphql, useFragment, type FragmentType } from "../../gql";
import { useT } from "../../i18n";
import { shortTime } from "../../format";

export const CommentsFragment = graphql(`
  fragment DocumentComments on Approval {
    comments { id text at }
  }
`);

export function Comments(props: { doc: FragmentType<typeof CommentsFragment> }) {
  const t = useT();
  const doc = useFragment(CommentsFragment, props.doc);
  return (
    <>
      <h2>{t("comments")}</h2>
      <ul>
        {doc.comments.map((c) => (
          <li key={c.id}>
            {shortTime(c.at)} {c.text}
          </li>
        ))}
      </ul>
    </>
  );
}
