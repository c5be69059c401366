// 퀘스트: open quests the viewer may take on, the ones they took on (submit when done), the
// ones they posted (verify or return each submission), a form to post one (managers and HR),
// the viewer's available leave (a verified leave reward raises it) and the department's board.
import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { command, CommandError, type Schema, type Session } from "../api";
import { useT, type Key } from "../i18n";
import { graphql } from "../gql";
import { useHrChanges } from "../live";
import type { QuestsQuery } from "../gql/graphql";

const QUESTS = graphql(`
  query Quests {
    me { id roles }
    openQuests { id title description posterName audience rewardKind rewardAmount capacity taken deadline kind goal cancelled myStatus myReturnedReason }
    myQuests { id title description posterName audience rewardKind rewardAmount capacity taken deadline kind goal cancelled myStatus myReturnedReason }
    postedQuests { id title description posterName audience rewardKind rewardAmount capacity taken deadline kind goal cancelled myStatus myReturnedReason participants { employeeId employeeName status returnedReason } }
    leaveBalance { available }
    questLeaderboard { employeeId employeeName rewardKind total quests }
  }
`);

type Quest = QuestsQuery["openQuests"][number];

const statusKey: Record<string, Key> = {
  accepted: "questAccepted",
  submitted: "questSubmitted",
  returned: "questReturned",
  verified: "questVerified",
};

/** A reward as people read it: hours of leave (and the days they make), or points. */
function useReward() {
  const t = useT();
  return (kind: string, amount: number) =>
    kind === "leave_hours" ? `${t("leaveReward")} ${amount}${t("hoursUnit")} (${amount / 8}${t("daysUnit")})` : `${amount} ${t("points")}`;
}

/** The deadline as a local date and time, minutes precision. */
const when = (rfc3339: string) => new Date(rfc3339).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });

function PostForm({ session, onPosted, manager }: { session: Session; onPosted: () => void; manager: boolean }) {
  const t = useT();
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [rewardKind, setRewardKind] = useState<"leave_hours" | "points">("leave_hours");
  const [amount, setAmount] = useState(8);
  const [capacity, setCapacity] = useState(3);
  const [days, setDays] = useState(7);
  const [audience, setAudience] = useState<"team" | "company">(manager ? "team" : "company");
  const [message, setMessage] = useState<string | null>(null);
  const post = async () => {
    setMessage(null);
    const reward: Schema<"RewardRequest"> =
      rewardKind === "leave_hours" ? { kind: "leave_hours", hours: amount } : { kind: "points", points: amount };
    try {
      await command(session, "/api/quests", {}, {
        title,
        description,
        reward,
        capacity,
        deadline: new Date(Date.now() + days * 86_400_000).toISOString(),
        audience: { kind: audience },
      });
      setTitle("");
      setDescription("");
      setMessage(t("done"));
      onPosted();
    } catch (e) {
      setMessage(e instanceof CommandError ? `${t("failed")}: ${e.message}` : String(e));
    }
  };
  return (
    <form
      className="quest-post"
      data-testid="quest-post"
      onSubmit={(e) => {
        e.preventDefault();
        void post();
      }}
    >
      <h2>{t("postQuest")}</h2>
      <label>
        {t("title")} <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={100} required data-testid="quest-title" />
      </label>
      <label>
        {t("description")} <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
      </label>
      <label>
        {t("reward")}{" "}
        <select value={rewardKind} onChange={(e) => setRewardKind(e.target.value === "points" ? "points" : "leave_hours")}>
          <option value="leave_hours">{t("leaveReward")}</option>
          <option value="points">{t("points")}</option>
        </select>{" "}
        <input
          type="number"
          min={rewardKind === "leave_hours" ? 2 : 1}
          step={rewardKind === "leave_hours" ? 2 : 1}
          max={rewardKind === "leave_hours" ? 40 : 100000}
          value={amount}
          onChange={(e) => setAmount(Number(e.target.value))}
          aria-label={t("reward")}
          data-testid="quest-amount"
        />
      </label>
      <label>
        {t("capacity")} <input type="number" min={1} max={1000} value={capacity} onChange={(e) => setCapacity(Number(e.target.value))} />
      </label>
      <label>
        {t("deadlineInDays")} <input type="number" min={1} max={365} value={days} onChange={(e) => setDays(Number(e.target.value))} />
      </label>
      <label>
        {t("audience")}{" "}
        <select value={audience} onChange={(e) => setAudience(e.target.value === "company" ? "company" : "team")}>
          {manager && <option value="team">{t("audienceTeam")}</option>}
          <option value="company">{t("audienceCompany")}</option>
        </select>
      </label>
      <button type="submit" data-testid="quest-post-submit">{t("postQuest")}</button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

function QuestCard({ quest, children }: { quest: Quest; children?: React.ReactNode }) {
  const t = useT();
  const reward = useReward();
  return (
    <li className="quest" data-testid={`quest-${quest.id}`} data-title={quest.title} data-status={quest.myStatus ?? "none"}>
      <strong>{quest.title}</strong> — {reward(quest.rewardKind, quest.rewardAmount)}
      <div className="hint">
        {quest.posterName} · {t("deadline")} {when(quest.deadline)} · {quest.taken}/{quest.capacity}
        {quest.kind === "attendance" && ` · ${t("attendanceGoal")}`}
        {quest.myStatus && ` · ${t(statusKey[quest.myStatus] ?? "questAccepted")}`}
        {quest.cancelled && ` · ${t("questCancelled")}`}
        {!quest.cancelled && quest.taken >= quest.capacity && ` · ${t("questFull")}`}
      </div>
      {quest.description && <p>{quest.description}</p>}
      {quest.myStatus === "returned" && quest.myReturnedReason && (
        <p className="hint" data-testid="quest-returned-reason">
          {t("reason")}: {quest.myReturnedReason}
        </p>
      )}
      {children}
    </li>
  );
}

export function Quests({ session }: { session: Session }) {
  const t = useT();
  const reward = useReward();
  const [result, reexecute] = useQuery({ query: QUESTS, requestPolicy: "cache-and-network" });
  const [message, setMessage] = useState<string | null>(null);
  const refresh = () => reexecute({ requestPolicy: "network-only" });
  // Live: a quest the viewer may see moved (taken, submitted, verified, returned, cancelled).
  const generation = useHrChanges(["QUEST"]);
  useEffect(() => {
    if (generation) reexecute({ requestPolicy: "network-only" });
  }, [generation, reexecute]);
  const act = async (run: () => Promise<unknown>) => {
    setMessage(null);
    try {
      await run();
      setMessage(t("done"));
      refresh();
    } catch (e) {
      setMessage(e instanceof CommandError ? `${t("failed")}: ${e.message}` : String(e));
    }
  };
  const data = result.data;
  if (result.error && !data) return <p role="alert">{`${t("failed")}: ${result.error.message}`}</p>;
  const roles = data?.me.roles ?? [];
  const posts = roles.includes("manager") || roles.includes("hr_admin");
  const takenIds = new Set((data?.myQuests ?? []).map((q) => q.id));
  const open = (data?.openQuests ?? []).filter((q) => !takenIds.has(q.id));
  const none = (list: readonly unknown[]) => data && list.length === 0 && <li className="hint">{t("noQuests")}</li>;
  return (
    <section className="quests">
      <h1>{t("quests")}</h1>
      {data?.leaveBalance && (
        <p data-testid="quest-leave-available" data-available={data.leaveBalance.available}>
          {t("leaveAvailable")}: {data.leaveBalance.available}
          {t("daysUnit")}
        </p>
      )}
      {message && <p role="status" data-testid="quest-message">{message}</p>}
      <h2>{t("openQuests")}</h2>
      <ul data-testid="open-quests">
        {none(open)}
        {open.map((q) => (
          <QuestCard key={q.id} quest={q}>
            {q.taken < q.capacity && (
              <button onClick={() => act(() => command(session, "/api/quests/{id}/accept", { id: q.id }, {}))} data-testid="quest-accept">
                {t("acceptQuest")}
              </button>
            )}
          </QuestCard>
        ))}
      </ul>
      <h2>{t("myQuests")}</h2>
      <ul data-testid="my-quests">
        {none(data?.myQuests ?? [])}
        {(data?.myQuests ?? []).map((q) => (
          <QuestCard key={q.id} quest={q}>
            {(q.myStatus === "accepted" || q.myStatus === "returned") && !q.cancelled && (
              <button onClick={() => act(() => command(session, "/api/quests/{id}/submit", { id: q.id }, {}))} data-testid="quest-submit">
                {t("submitQuest")}
              </button>
            )}
          </QuestCard>
        ))}
      </ul>
      {posts && (
        <>
          <h2>{t("postedQuests")}</h2>
          <ul data-testid="posted-quests">
            {none(data?.postedQuests ?? [])}
            {(data?.postedQuests ?? []).map((q) => (
              <QuestCard key={q.id} quest={q}>
                {!q.cancelled && (
                  <button
                    onClick={() => {
                      const reason = prompt(t("reason"));
                      if (reason) void act(() => command(session, "/api/quests/{id}/cancel", { id: q.id }, { reason }));
                    }}
                  >
                    {t("cancelQuest")}
                  </button>
                )}
                <table>
                  <tbody>
                    {q.participants.map((p) => (
                      <tr key={p.employeeId} data-testid="quest-participant" data-status={p.status}>
                        <td>{p.employeeName}</td>
                        <td>{t(statusKey[p.status] ?? "questAccepted")}</td>
                        <td>
                          {p.status === "submitted" && !q.cancelled && (
                            <>
                              <button
                                onClick={() =>
                                  act(() => command(session, "/api/quests/{id}/verify", { id: q.id }, { employee: p.employeeId }))
                                }
                                data-testid="quest-verify"
                              >
                                {t("verifyQuest")}
                              </button>{" "}
                              <button
                                onClick={() => {
                                  const reason = prompt(t("reason"));
                                  if (reason) void act(() => command(session, "/api/quests/{id}/return", { id: q.id }, { employee: p.employeeId, reason }));
                                }}
                              >
                                {t("returnQuest")}
                              </button>
                            </>
                          )}
                          {p.status === "returned" && p.returnedReason}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </QuestCard>
            ))}
          </ul>
          <PostForm session={session} onPosted={refresh} manager={roles.includes("manager")} />
        </>
      )}
      <h2>{t("leaderboard")}</h2>
      <table data-testid="quest-leaderboard">
        <tbody>
          {(data?.questLeaderboard ?? []).map((r) => (
            <tr key={`${r.employeeId}-${r.rewardKind}`}>
              <td>{r.employeeName}</td>
              <td>{reward(r.rewardKind, r.total)}</td>
              <td>
                {r.quests} {t("questsDone")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
