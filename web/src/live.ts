// HR records changing live (the notifier's `hrChanged`): pages that show attendance or quests
// re-read them when one the viewer may see changes, or when the subscription fell behind.
// Changes are coalesced: a wave of check-ins at nine o'clock re-reads a page once every
// couple of seconds, not once per check-in. The subscription opens with a resync, once it is
// routed (and again after a lost connection): what changed between the page's first read and
// then is read at once.
import { useEffect, useRef, useState } from "react";
import { useSubscription } from "urql";
import { graphql } from "./gql";
import type { HrTopic } from "./gql/graphql";

const HR_CHANGED = graphql(`
  subscription HrChanged($topics: [HrTopic!]) {
    hrChanged(topics: $topics, resyncAtOpen: true) { resync topic }
  }
`);

/** The shortest time between two re-reads a page makes for live changes. */
export const COALESCE_MS = 2000;

/** A count that rises at most once per `COALESCE_MS` while changes of `topics` (a resync
 * included) arrive: 0 until the first. Use it as an effect dependency to re-read with
 * `requestPolicy: "network-only"`. */
export function useHrChanges(topics: HrTopic[]): number {
  const [result] = useSubscription({ query: HR_CHANGED, variables: { topics } }, (count: number | undefined) => (count ?? 0) + 1);
  const received = result.data ?? 0;
  const latest = useRef(0);
  latest.current = received;
  const [generation, setGeneration] = useState(0);
  const behind = received > generation;
  useEffect(() => {
    if (!behind) return;
    // Changes arriving while this timer runs restart nothing: when it fires, the page
    // catches up with all of them at once.
    const timer = setTimeout(() => setGeneration(latest.current), generation === 0 ? 0 : COALESCE_MS);
    return () => clearTimeout(timer);
  }, [behind]);
  return generation;
}
