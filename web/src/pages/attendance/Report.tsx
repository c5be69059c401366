// 월간 근태 리포트: the month summed per employee — the viewer's own row, and for the head of
// their department (or HR) every member of it — with a CSV download of what is shown.
import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { useT } from "../../i18n";
import { graphql } from "../../gql";
import type { Session } from "../../api";
import type { MonthReportQuery } from "../../gql/graphql";
import { downloadCsv, toCsv } from "../../csv";

const ME = graphql(`
  query ReportScope {
    me { employeeId roles department { departmentId name head { employeeId } } }
  }
`);

const REPORT = graphql(`
  query MonthReport($month: String!, $department: ID) {
    attendanceReport(month: $month, departmentId: $department) {
      employeeId employeeName workDays daysPresent absentDays lateDays lateMinutes
      earlyLeaveDays earlyLeaveMinutes regularMinutes overtimeMinutes nightMinutes
    }
  }
`);

type Row = MonthReportQuery["attendanceReport"][number];

const COLUMNS: (keyof Row)[] = [
  "employeeName",
  "workDays",
  "daysPresent",
  "absentDays",
  "lateDays",
  "lateMinutes",
  "earlyLeaveDays",
  "earlyLeaveMinutes",
  "regularMinutes",
  "overtimeMinutes",
  "nightMinutes",
];

/** The report as CSV (src/csv.ts), one row per employee in the columns shown. */
export function reportCsv(header: string[], rows: Row[]): string {
  return toCsv(header, rows.map((r) => COLUMNS.map((c) => r[c])));
}

/** `generation` changes when an attendance record the viewer may see changed (live). */
export function MonthReport({ session, month, generation }: { session: Session; month: string; generation: number }) {
  const t = useT();
  const [scope] = useQuery({ query: ME });
  const me = scope.data?.me;
  const department = me?.department;
  const leads = department && (department.head?.employeeId === session.employeeId || me.roles.includes("hr_admin"));
  const [whole, setWhole] = useState(false);
  const wanted = whole && leads ? department.departmentId : null;
  const [result, reexecute] = useQuery({ query: REPORT, variables: { month, department: wanted } });
  useEffect(() => {
    if (generation) reexecute({ requestPolicy: "network-only" });
  }, [generation, reexecute]);
  const rows = result.data?.attendanceReport ?? [];
  const header = [
    t("name"),
    t("workDays"),
    t("daysPresent"),
    t("absentDays"),
    t("lateDays"),
    t("lateMinutes"),
    t("earlyLeaveDays"),
    t("earlyLeaveMinutes"),
    t("regularMinutes"),
    t("overtimeMinutes"),
    t("nightMinutes"),
  ];
  return (
    <section>
      <h2>
        {t("monthlyReport")} {month}
      </h2>
      {leads && (
        <label>
          <input type="checkbox" checked={whole} onChange={(e) => setWhole(e.target.checked)} data-testid="report-department" />{" "}
          {department.name}
        </label>
      )}{" "}
      <button onClick={() => downloadCsv(`attendance-${month}.csv`, reportCsv(header, rows))} disabled={rows.length === 0} data-testid="report-csv">
        {t("downloadCsv")}
      </button>
      {result.error && <p role="alert">{`${t("failed")}: ${result.error.message}`}</p>}
      <table data-testid="attendance-report">
        <thead>
          <tr>
            {header.map((h) => (
              <th key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.employeeId}>
              {COLUMNS.map((c) => (
                <td key={c}>{r[c]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
