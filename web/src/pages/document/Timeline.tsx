// Every event of a document up to the state shown, oldest first.
import { useContext } from "react";
import { graphql, useFragment, type FragmentType } from "../../gql";
import { LangContext, actionLabels, useT } from "../../i18n";
import { shortTime } from "../../format";

export const TimelineFragment = graphql(`
  fragment DocumentTimeline on Approval {
    timeline { version action at note actor { name } }
  }
`);

export function Timeline(props: { doc: FragmentType<typeof TimelineFragment> }) {
  const t = useT();
  const lang = useContext(LangContext);
  const doc = useFragment(TimelineFragment, props.doc);
  return (
    <>
      <h2>{t("timeline")}</h2>
      <ol className="timeline" data-testid="timeline">
        {doc.timeline.map((e) => (
          <li key={e.version}>
            {shortTime(e.at)} {e.actor?.name} {actionLabels[lang][e.action.replace("approval.", "")] ?? e.action}{" "}
            {e.note ? `— ${e.note}` : ""}
          </li>
        ))}
      </ol>
    </>
  );
}
