// HR records changing live (the notifier's `hrChanged`): pages that show attendance or quests
// re-read them when one the viewer may see changes, or when the subscription fell behind.
import { useSubscription } from "urql";
import { graphql } from "./gql";
import type { HrTopic } from "./gql/graphql";

const HR_CHANGED = graphql(`
  subscription HrChanged($topics: [HrTopic!]) {
    hrChanged(topics: $topics) { resync topic }
  }
`);

/** How many changes of `topics` (a resync included) arrived since mounting: 0 until the first.
 * Use it as an effect dependency to re-read with `requestPolicy: "network-only"`. */
export function useHrChanges(topics: HrTopic[]): number {
  const [result] = useSubscription({ query: HR_CHANGED, variables: { topics } }, (count: number | undefined) => (count ?? 0) + 1);
  return result.data ?? 0;
}
