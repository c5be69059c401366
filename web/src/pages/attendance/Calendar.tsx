// 팀 휴가 달력: the department's approved and pending leave for the month, one row per member
// on leave, one column per day.
import { useQuery } from "urql";
import { useT } from "../../i18n";
import { graphql } from "../../gql";
import type { LeaveState } from "../../gql/graphql";

const CALENDAR = graphql(`
  query LeaveCalendar($month: String!) {
    leaveCalendar(month: $month) { employeeId employeeName start end days state }
  }
`);

type Entry = { employeeId: string; employeeName: string; start: string; end: string; state: LeaveState };

/** The days of `month` (`YYYY-MM`) as `YYYY-MM-DD`. */
export function monthDays(month: string): string[] {
  const [y, m] = month.split("-").map(Number);
  const count = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return Array.from({ length: count }, (_, i) => `${month}-${String(i + 1).padStart(2, "0")}`);
}

/** Each member on leave with, per day, the state of the leave covering it (if any). */
export function calendarRows(days: string[], entries: Entry[]): { id: string; name: string; cells: (LeaveState | null)[] }[] {
  const rows = new Map<string, { id: string; name: string; cells: (LeaveState | null)[] }>();
  for (const e of entries) {
    const row = rows.get(e.employeeId) ?? { id: e.employeeId, name: e.employeeName, cells: days.map(() => null) };
    days.forEach((d, i) => {
      // An approved request wins a day over a pending one.
      if (d >= e.start && d <= e.end && row.cells[i] !== "APPROVED") row.cells[i] = e.state;
    });
    rows.set(e.employeeId, row);
  }
  return [...rows.values()];
}

export function LeaveCalendar({ month }: { month: string }) {
  const t = useT();
  const [result] = useQuery({ query: CALENDAR, variables: { month } });
  if (result.error) return <p role="alert">{`${t("failed")}: ${result.error.message}`}</p>;
  const days = monthDays(month);
  const rows = calendarRows(days, result.data?.leaveCalendar ?? []);
  return (
    <section>
      <h2>
        {t("leaveCalendar")} {month}
      </h2>
      {rows.length === 0 ? (
        <p className="hint">{t("noLeave")}</p>
      ) : (
        <table className="leave-calendar" data-testid="leave-calendar">
          <thead>
            <tr>
              <th>{t("name")}</th>
              {days.map((d) => (
                <th key={d}>{Number(d.slice(8))}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td>{r.name}</td>
                {r.cells.map((state, i) => (
                  <td
                    key={days[i]}
                    className={state === "APPROVED" ? "leave-approved" : state === "PENDING" ? "leave-pending" : undefined}
                    title={state ? t(state === "APPROVED" ? "leaveApproved" : "leavePending") : undefined}
                  >
                    {state === "APPROVED" ? "■" : state === "PENDING" ? "□" : ""}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
