// 조직·휴가: the org chart, my leave (anyone's for HR admins and auditors), and my proxy
// (대결자): name a colleague who may decide in my seat for a window, and revoke it. HR admins
// also register employees and manage people and departments (admin/Manage).
import { useState } from "react";
import { useQuery } from "urql";
import { command, CommandError, type Session } from "../api";
import { useT } from "../i18n";
import { graphql } from "../gql";
import { Manage } from "./admin/Manage";
import { Proxy } from "./admin/Proxy";
import type { AdminQuery } from "../gql/graphql";

// The org chart is drawn from two flat lists: a nested tree query multiplies its cost per
// level, and the server refuses what it cannot bound.
const ADMIN = graphql(`
  query Admin($who: ID) {
    me { employeeId roles }
    leaveBalance(employeeId: $who) { employeeId balance used entries { kind days at reason } }
    employees(first: 100, filter: { active: true }) { edges { node { employeeId name positionTitle department { departmentId } } } }
    departments { departmentId name code closed parent { departmentId } }
    myDelegations { delegationId principal { name } validUntil }
  }
`);

type Dept = AdminQuery["departments"][number];
type Person = AdminQuery["employees"]["edges"][number]["node"];

function Department({ d, all, people }: { d: Dept; all: Dept[]; people: Person[] }) {
  const members = people.filter((p) => p.department?.departmentId === d.departmentId);
  const children = all.filter((c) => c.parent?.departmentId === d.departmentId);
  return (
    <li>
      <strong>{d.name}</strong>:{" "}
      <span data-testid={`org-${d.code}`}>{members.map((m) => `${m.name}${m.positionTitle ? ` (${m.positionTitle})` : ""}`).join(", ")}</span>
      {children.length > 0 && (
        <ul>
          {children.map((c) => (
            <Department key={c.departmentId} d={c} all={all} people={people} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** HR: register an employee, adjust someone's leave. The server checks the role again. */
function HrPanel({
  session,
  people,
  departments,
  who,
  onDone,
}: {
  session: Session;
  people: { employeeId: string; name: string }[];
  departments: { departmentId: string; name: string }[];
  who: string | null;
  onDone: () => void;
}) {
  const t = useT();
  const [form, setForm] = useState({ name: "", email: "", department: "", title: "", rank: "1", manager: "", hireDate: "" });
  const [days, setDays] = useState("");
  const [reason, setReason] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const run = async (send: () => Promise<unknown>) => {
    setMessage(null);
    try {
      await send();
      setMessage(t("done"));
      onDone();
    } catch (e) {
      setMessage(e instanceof CommandError ? `${t("failed")}: ${e.message}` : String(e));
    }
  };
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  return (
    <section className="hr">
      <h1>{t("register")}</h1>
      <input placeholder={t("name")} aria-label={t("name")} value={form.name} onChange={set("name")} data-testid="hr-name" />
      <input placeholder={t("email")} aria-label={t("email")} value={form.email} onChange={set("email")} data-testid="hr-email" />
      <select aria-label={t("department")} value={form.department} onChange={set("department")} data-testid="hr-department">
        <option value="" />
        {departments.map((d) => (
          <option key={d.departmentId} value={d.departmentId}>
            {d.name}
          </option>
        ))}
      </select>
      <input placeholder={t("positionTitle")} aria-label={t("positionTitle")} value={form.title} onChange={set("title")} data-testid="hr-title" />
      <select aria-label={t("manager")} value={form.manager} onChange={set("manager")}>
        <option value="" />
        {people.map((p) => (
          <option key={p.employeeId} value={p.employeeId}>
            {p.name}
          </option>
        ))}
      </select>
      <label>
        {t("hireDate")}{" "}
        <input type="date" value={form.hireDate} onChange={set("hireDate")} data-testid="hr-hire-date" />
      </label>
      <button
        data-testid="hr-register"
        disabled={!form.name || !form.email || !form.department || !form.title}
        onClick={() =>
          run(() =>
            command(session, "/api/employees", {}, {
              name: form.name,
              email: form.email,
              department: form.department,
              position: { title: form.title, rank: Number(form.rank) },
              manager: form.manager || null,
              roles: [],
              hire_date: form.hireDate || null,
            }),
          )
        }
      >
        {t("save")}
      </button>
      {who && (
        <>
          <h1>{t("adjustLeave")}</h1>
          <input placeholder="+1 / -0.5" aria-label={t("days")} value={days} onChange={(e) => setDays(e.target.value)} />
          <input placeholder={t("reason")} aria-label={t("reason")} value={reason} onChange={(e) => setReason(e.target.value)} />
          <button disabled={!days || !reason} onClick={() => run(() => command(session, "/api/leave/{employee}/adjustments", { employee: who }, { days, reason }))}>
            {t("save")}
          </button>
        </>
      )}
      {message && (
        <p className="message" role="status" data-testid="hr-message">
          {message}
        </p>
      )}
    </section>
  );
}

export function Admin({ session }: { session: Session }) {
  const t = useT();
  const [who, setWho] = useState<string | null>(null);
  const [{ data, error }, refetch] = useQuery({ query: ADMIN, variables: { who } });
  // Bumped by a registration or leave adjustment, so HR's directory (admin/Manage) reads it too.
  const [generation, setGeneration] = useState(0);
  if (error) return <p className="error">{error.message}</p>;
  const people: Person[] = (data?.employees.edges ?? []).map((e) => e.node);
  const departments: Dept[] = data?.departments ?? [];
  const roles = data?.me.roles ?? [];
  const readsAll = roles.some((r) => r === "hr_admin" || r === "auditor");
  const hr = roles.includes("hr_admin");
  const refresh = () => refetch({ requestPolicy: "network-only" });
  return (
    <div className="admin">
      <h1>{t("leave")}</h1>
      {readsAll && (
        <select aria-label={t("employees")} value={who ?? ""} onChange={(e) => setWho(e.target.value || null)}>
          <option value="">{session.name}</option>
          {people.map((p) => (
            <option key={p.employeeId} value={p.employeeId}>
              {p.name}
            </option>
          ))}
        </select>
      )}
      {data?.leaveBalance && (
        <p data-testid="leave">
          {data.leaveBalance.balance} ({t("used")} {data.leaveBalance.used})
        </p>
      )}
      <Proxy session={session} people={people} seats={data?.myDelegations ?? []} hr={hr} onDone={refresh} />
      {hr && (
        <HrPanel
          session={session}
          people={people}
          departments={departments.filter((d) => !d.closed)}
          who={who}
          onDone={() => {
            refresh();
            setGeneration((g) => g + 1);
          }}
        />
      )}
      {hr && <Manage session={session} generation={generation} onDone={refresh} />}
      <h1>{t("employees")}</h1>
      <ul>
        {departments
          .filter((d) => !d.parent && !d.closed)
          .map((d) => (
            <Department key={d.departmentId} d={d} all={departments} people={people} />
          ))}
      </ul>
    </div>
  );
}
