// 직원 관리: pick an employee, see where they stand, then change one thing at a time (profile,
// department, position, manager, roles, hire date) or deactivate them. Each change goes at
// the version shown (If-Match), so two HR admins do not overwrite each other unseen.
import { useState } from "react";
import { useQuery } from "urql";
import { send, command, type Session } from "../../api";
import { useT, type Key } from "../../i18n";
import { graphql } from "../../gql";
import { ConfirmButton, Status, useRun, SaveField } from "./run";
import type { HrDepartment, HrEmployee } from "./Manage";

/** The roles HR grants; `employee` is everyone's and always sent. */
const GRANTABLE: { role: string; label: Key }[] = [
  { role: "manager", label: "roleManager" },
  { role: "hr_admin", label: "roleHrAdmin" },
  { role: "auditor", label: "roleAuditor" },
];

const HIRE_DATE = graphql(`
  query HireDate($who: ID) {
    leaveEntitlement(employeeId: $who) { employeeId hireDate }
  }
`);

type Props = { session: Session; people: HrEmployee[]; departments: HrDepartment[]; onDone: () => void };

export function People({ session, people, departments, onDone }: Props) {
  const t = useT();
  const [pick, setPick] = useState("");
  const { message, busy, run } = useRun(onDone);
  const e = people.find((p) => p.employeeId === pick);
  const label = (p: HrEmployee) =>
    [p.name, p.department?.name, p.positionTitle].filter(Boolean).join(" · ") + (p.active ? "" : ` [${t("inactive")}]`);
  return (
    <section className="hr people" data-testid="people">
      <h1>{t("manageEmployees")}</h1>
      <select aria-label={t("pickEmployee")} value={pick} onChange={(ev) => setPick(ev.target.value)} data-testid="people-pick">
        <option value="">{t("pickEmployee")}</option>
        {people.map((p) => (
          <option key={p.employeeId} value={p.employeeId}>
            {label(p)}
          </option>
        ))}
      </select>
      {e && <Summary e={e} />}
      {e?.active && (
        <EmployeeForms key={e.employeeId} session={session} e={e} people={people} departments={departments} busy={busy} run={run} />
      )}
      <Status message={message} testId="people-message" />
    </section>
  );
}

function Summary({ e }: { e: HrEmployee }) {
  const t = useT();
  const roleNames = GRANTABLE.filter((g) => e.roles.includes(g.role)).map((g) => t(g.label));
  return (
    <dl className="summary" data-testid="people-summary" data-active={String(e.active)}>
      <dt>{t("status")}</dt>
      <dd data-testid="people-status">{e.active ? t("active") : t("inactive")}</dd>
      <dt>{t("email")}</dt>
      <dd>{e.email}</dd>
      <dt>{t("department")}</dt>
      <dd data-testid="people-department">{e.department?.name ?? "-"}</dd>
      <dt>{t("positionTitle")}</dt>
      <dd data-testid="people-title">
        {e.positionTitle ?? "-"} ({t("rank")} {e.rank})
      </dd>
      <dt>{t("manager")}</dt>
      <dd>{e.manager?.name ?? "-"}</dd>
      <dt>{t("roles")}</dt>
      <dd>{roleNames.join(", ") || "-"}</dd>
    </dl>
  );
}

type FormProps = {
  session: Session;
  e: HrEmployee;
  people: HrEmployee[];
  departments: HrDepartment[];
  busy: boolean;
  run: (act: () => Promise<unknown>) => Promise<void>;
};

/** One small form per change; each starts from the employee's current value. */
function EmployeeForms({ session, e, people, departments, busy, run }: FormProps) {
  const t = useT();
  const id = { id: e.employeeId };
  const [name, setName] = useState(e.name);
  const [email, setEmail] = useState(e.email);
  const [department, setDepartment] = useState(e.department?.departmentId ?? "");
  const [title, setTitle] = useState(e.positionTitle ?? "");
  const [rank, setRank] = useState(String(e.rank));
  const [manager, setManager] = useState(e.manager?.employeeId ?? "");
  const [roles, setRoles] = useState(e.roles.filter((r) => r !== "employee"));
  const rankValue = Number(rank);
  const rankOk = rank !== "" && Number.isInteger(rankValue) && rankValue >= 0 && rankValue <= 255;
  const toggle = (role: string) => setRoles(roles.includes(role) ? roles.filter((r) => r !== role) : [...roles, role]);
  return (
    <div className="people-forms">
      <SaveField legend={t("profile")} disabled={busy || !name.trim() || !email.trim()} testId="people-profile-save" onSave={() => run(() => send(session, "patch", "/api/employees/{id}", id, { name, email }, e.version))}>
        <input aria-label={t("name")} value={name} onChange={(ev) => setName(ev.target.value)} data-testid="people-name" />
        <input aria-label={t("email")} value={email} onChange={(ev) => setEmail(ev.target.value)} data-testid="people-email" />
      </SaveField>
      <SaveField legend={t("transfer")} disabled={busy || !department || department === e.department?.departmentId} testId="people-transfer" onSave={() => run(() => send(session, "put", "/api/employees/{id}/department", id, { department }, e.version))}>
        <select aria-label={t("department")} value={department} onChange={(ev) => setDepartment(ev.target.value)} data-testid="people-transfer-department">
          {departments
            .filter((d) => !d.closed || d.departmentId === department)
            .map((d) => (
              <option key={d.departmentId} value={d.departmentId}>
                {d.name}
              </option>
            ))}
        </select>
      </SaveField>
      <SaveField legend={t("changePosition")} disabled={busy || !title.trim() || !rankOk} testId="people-position-save" onSave={() => run(() => send(session, "put", "/api/employees/{id}/position", id, { title, rank: rankValue }, e.version))}>
        <input aria-label={t("positionTitle")} value={title} onChange={(ev) => setTitle(ev.target.value)} data-testid="people-position-title" />
        <input
          type="number"
          min={0}
          max={255}
          aria-label={t("rank")}
          value={rank}
          onChange={(ev) => setRank(ev.target.value)}
          data-testid="people-position-rank"
        />
      </SaveField>
      <SaveField legend={t("manager")} disabled={busy || manager === (e.manager?.employeeId ?? "")} testId="people-manager-save" onSave={() => run(() => send(session, "put", "/api/employees/{id}/manager", id, { manager: manager || null }, e.version))}>
        <select aria-label={t("manager")} value={manager} onChange={(ev) => setManager(ev.target.value)} data-testid="people-manager">
          <option value="">{t("none")}</option>
          {people
            .filter((p) => p.active && p.employeeId !== e.employeeId)
            .map((p) => (
              <option key={p.employeeId} value={p.employeeId}>
                {p.name}
              </option>
            ))}
        </select>
      </SaveField>
      <SaveField legend={t("roles")} disabled={busy} testId="people-roles-save" onSave={() => run(() => send(session, "put", "/api/employees/{id}/roles", id, { roles: ["employee", ...roles] }, e.version))}>
        {GRANTABLE.map((g) => (
          <label key={g.role}>
            <input type="checkbox" checked={roles.includes(g.role)} onChange={() => toggle(g.role)} data-testid={`people-role-${g.role}`} />
            {t(g.label)}
          </label>
        ))}
      </SaveField>
      <HireDateForm session={session} e={e} busy={busy} run={run} />
      <fieldset>
        <legend>{t("deactivate")}</legend>
        <ConfirmButton
          label="deactivate"
          ask="confirmDeactivate"
          testId="people-deactivate"
          disabled={busy}
          onConfirm={() => run(() => command(session, "/api/employees/{id}/deactivate", id, {}, e.version))}
        />
      </fieldset>
    </div>
  );
}

/** 입사일: shown as the leave entitlement reads it, recorded or corrected here. */
function HireDateForm({ session, e, busy, run }: Omit<FormProps, "people" | "departments">) {
  const t = useT();
  const [{ data }, refetch] = useQuery({ query: HIRE_DATE, variables: { who: e.employeeId } });
  const recorded = data?.leaveEntitlement.hireDate ?? null;
  const [date, setDate] = useState("");
  return (
    <fieldset>
      <legend>{t("hireDate")}</legend>
      <span data-testid="people-hire-date-current">{recorded ?? "-"}</span>{" "}
      <input type="date" aria-label={t("hireDate")} value={date} onChange={(ev) => setDate(ev.target.value)} data-testid="people-hire-date" />
      <button
        disabled={busy || !date || date === recorded}
        onClick={() =>
          run(async () => {
            await send(session, "put", "/api/employees/{id}/hire-date", { id: e.employeeId }, { hire_date: date }, e.version);
            refetch({ requestPolicy: "network-only" });
          })
        }
        data-testid="people-hire-date-save"
      >
        {t("save")}
      </button>
    </fieldset>
  );
}
