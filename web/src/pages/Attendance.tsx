// 근태: check in and out (stamped by the server's clock, never the browser's), today's state,
// this month's days, the week's hours against the 52-hour limit, and — for department heads
// and HR — the team's day.
import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { command, CommandError, prop, type Session } from "../api";
import { useT, type Key } from "../i18n";
import { graphql } from "../gql";
import { useHrChanges } from "../live";
import type { WeeklyHoursState } from "../gql/graphql";
import { MonthReport } from "./attendance/Report";
import { LeaveCalendar } from "./attendance/Calendar";

const ATTENDANCE = graphql(`
  query Attendance($from: String!, $to: String!, $today: String!) {
    myAttendance(from: $from, to: $to) {
      day state firstIn lastOut regularMinutes overtimeMinutes nightMinutes lateMinutes earlyLeaveMinutes
    }
    weeklyHours(week: $today) { weekStart minutes limitMinutes remainingMinutes state }
  }
`);

const TEAM = graphql(`
  query TeamAttendance($today: String!) {
    teamAttendance(date: $today) { employeeId employeeName state firstIn lastOut lateMinutes }
  }
`);

/** The company-local (KST) date of `at`, `YYYY-MM-DD`. */
export function kstDate(at: Date): string {
  return new Date(at.getTime() + 9 * 3600_000).toISOString().slice(0, 10);
}

/** `HH:MM` in KST of an RFC 3339 time. */
export function kstTime(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "";
  return new Date(new Date(rfc3339).getTime() + 9 * 3600_000).toISOString().slice(11, 16);
}

const stateKey = (state: string | undefined): Key =>
  state === "working" ? "working" : state === "done" ? "offWork" : state === "absent" ? "absent" : "notCheckedIn";

const weeklyKey: Record<WeeklyHoursState, Key> = { WITHIN: "within", WARNING: "warning", EXCEEDED: "exceeded" };

const hours = (minutes: number) => `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}`;

/** `generation` changes when an attendance record the viewer may see changed (live). */
function Team({ today, generation }: { today: string; generation: number }) {
  const t = useT();
  const [result, reexecute] = useQuery({ query: TEAM, variables: { today } });
  useEffect(() => {
    if (generation) reexecute({ requestPolicy: "network-only" });
  }, [generation, reexecute]);
  const rows = result.data?.teamAttendance;
  if (!rows) return null;
  return (
    <section>
      <h2>{t("teamToday")}</h2>
      <table data-testid="team-attendance">
        <tbody>
          {rows.map((r) => (
            <tr key={r.employeeId}>
              <td>{r.employeeName}</td>
              <td>{t(stateKey(r.state))}</td>
              <td>{kstTime(r.firstIn)}</td>
              <td>{kstTime(r.lastOut)}</td>
              <td>{r.lateMinutes > 0 ? `${t("lateMinutes")} ${r.lateMinutes}` : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function Attendance({ session }: { session: Session }) {
  const t = useT();
  const now = new Date();
  const today = kstDate(now);
  const from = `${today.slice(0, 8)}01`;
  const [result, reexecute] = useQuery({ query: ATTENDANCE, variables: { from, to: today, today } });
  // Live: a check-in or check-out (mine, or for a head a report's) re-reads the days.
  const generation = useHrChanges(["ATTENDANCE"]);
  useEffect(() => {
    if (generation) reexecute({ requestPolicy: "network-only" });
  }, [generation, reexecute]);
  const [message, setMessage] = useState<string | null>(null);
  const [punched, setPunched] = useState<{ state?: string; firstIn?: string; lastOut?: string } | null>(null);
  const days = result.data?.myAttendance ?? [];
  const todayRow = days.find((d) => d.day === today);
  const state = punched?.state ?? todayRow?.state;
  const firstIn = punched?.firstIn ?? todayRow?.firstIn ?? undefined;
  const lastOut = punched?.lastOut ?? todayRow?.lastOut ?? undefined;
  const week = result.data?.weeklyHours;
  const punch = async (path: "/api/attendance/check-in" | "/api/attendance/check-out") => {
    setMessage(null);
    try {
      const { reply } = await command(session, path, {}, {});
      const day = prop(reply, "attendance");
      const str = (k: string) => {
        const v = prop(day, k);
        return typeof v === "string" ? v : undefined;
      };
      setPunched({ state: str("state"), firstIn: str("first_in"), lastOut: str("last_out") });
      setMessage(t("done"));
      reexecute({ requestPolicy: "network-only" });
    } catch (e) {
      setMessage(e instanceof CommandError ? `${t("failed")}: ${e.message}` : String(e));
    }
  };
  return (
    <section className="attendance">
      <h1>{t("attendance")}</h1>
      <p className="hint">{t("serverClock")}</p>
      <div className="today" data-testid="attendance-today">
        <strong>{t("today")} {today}</strong>{" "}
        <span data-testid="attendance-state" data-state={state ?? "none"}>{t(stateKey(state))}</span>{" "}
        {firstIn && <span data-testid="attendance-in">{t("firstIn")} {kstTime(firstIn)}</span>}{" "}
        {lastOut && <span data-testid="attendance-out">{t("lastOut")} {kstTime(lastOut)}</span>}
      </div>
      <button onClick={() => punch("/api/attendance/check-in")} disabled={state === "working"} data-testid="check-in">
        {t("checkIn")}
      </button>
      <button onClick={() => punch("/api/attendance/check-out")} disabled={state !== "working"} data-testid="check-out">
        {t("checkOut")}
      </button>
      {message && <p role="status" data-testid="attendance-message">{message}</p>}
      {week && (
        <p data-testid="weekly-hours" data-state={week.state}>
          {t("weeklyHours")}: {hours(week.minutes)} / {hours(week.limitMinutes)} — {t(weeklyKey[week.state])} ({t("remaining")}{" "}
          {hours(week.remainingMinutes)})
        </p>
      )}
      <h2>{t("thisMonth")}</h2>
      <table data-testid="attendance-month">
        <thead>
          <tr>
            <th>{t("day")}</th>
            <th>{t("status")}</th>
            <th>{t("firstIn")}</th>
            <th>{t("lastOut")}</th>
            <th>{t("regularMinutes")}</th>
            <th>{t("overtimeMinutes")}</th>
            <th>{t("nightMinutes")}</th>
            <th>{t("lateMinutes")}</th>
            <th>{t("earlyLeaveMinutes")}</th>
          </tr>
        </thead>
        <tbody>
          {days.map((d) => (
            <tr key={d.day}>
              <td>{d.day}</td>
              <td>{t(stateKey(d.state))}</td>
              <td>{kstTime(d.firstIn)}</td>
              <td>{kstTime(d.lastOut)}</td>
              <td>{d.regularMinutes}</td>
              <td>{d.overtimeMinutes}</td>
              <td>{d.nightMinutes}</td>
              <td>{d.lateMinutes}</td>
              <td>{d.earlyLeaveMinutes}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Team today={today} generation={generation} />
      <LeaveCalendar month={today.slice(0, 7)} />
      <MonthReport session={session} month={today.slice(0, 7)} generation={generation} />
    </section>
  );
}
