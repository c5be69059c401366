// 월간 근태 리포트: the month summed per employee — the viewer's own row, and for the head of
// their department (or HR) every member of it — with a CSV download of what is shown.
import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { useT } from "../../i18n";
import { graphql } from "../../gql";
import type { Session } from "../../api";
import type { MonthReportQuery } from "../../gql/graphql";

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

/** RFC 4180 CSV of `rows`, with a header row, quoting every text field. */
export function reportCsv(header: string[], rows: Row[]): string {
  const cell = (v: unknown) => (typeof v === "number" ? String(v) : `"${String(v ?? "").replace(/"/g, '""')}"`);
  return [header.map(cell), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])))].map((line) => line.join(",")).join("\r\n") + "\r\n";
}

function download(name: string, csv: string) {
  // A byte-order mark, so spreadsheet programs read the Korean names as UTF-8.
  const url = URL.createObjectURL(new Blob(["\ufeff", csv], { type: "text/csv;charset=utf-8" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  a.click();
  URL.revokeObjectURL(url);
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
      <button onClick={() => download(`attendance-${month}.csv`, reportCsv(header, rows))} disabled={rows.length === 0} data-testid="report-csv">
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
