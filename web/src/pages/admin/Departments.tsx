// 부서 관리: open a department, rename it, move it in the tree, appoint its head, set its work
// schedule, close it once nobody belongs to it. Each change goes at the version shown (If-Match).
import { useContext, useState } from "react";
import { command, send, type Session } from "../../api";
import { LangContext, useT } from "../../i18n";
import { ConfirmButton, Status, useRun, SaveField } from "./run";
import { ScheduleFields, scheduleSource, scheduleText } from "./Schedule";
import type { HrDepartment, HrEmployee } from "./Manage";

type Props = { session: Session; people: HrEmployee[]; departments: HrDepartment[]; onDone: () => void };

export function Departments({ session, people, departments, onDone }: Props) {
  const t = useT();
  const lang = useContext(LangContext);
  const [pick, setPick] = useState("");
  const { message, busy, run } = useRun(onDone);
  const d = departments.find((x) => x.departmentId === pick);
  const open = departments.filter((x) => !x.closed);
  return (
    <section className="hr departments" data-testid="departments">
      <h1>{t("manageDepartments")}</h1>
      <CreateForm session={session} open={open} busy={busy} run={run} />
      <select aria-label={t("department")} value={pick} onChange={(ev) => setPick(ev.target.value)} data-testid="dept-pick">
        <option value="">{t("department")}</option>
        {departments.map((x) => (
          <option key={x.departmentId} value={x.departmentId}>
            {x.name} ({x.code}){x.closed ? ` [${t("closed")}]` : ""}
          </option>
        ))}
      </select>
      {d && (
        <p data-testid="dept-summary">
          {d.name} ({d.code}) · {t("parentDepartment")}: {d.parent?.name ?? t("topLevel")} · {t("head")}: {d.head?.name ?? "-"}
          {d.closed && ` · ${t("closed")}`}
        </p>
      )}
      {d && (
        <p data-testid="dept-schedule">
          {t("workSchedule")}: {scheduleText(d.schedule, lang)} ({scheduleSource(d, departments, lang)})
        </p>
      )}
      {d && !d.closed && (
        <DepartmentForms key={d.departmentId} session={session} d={d} open={open} people={people} busy={busy} run={run} />
      )}
      {d && !d.closed && (
        // Keyed by version too: after a change (a reset most of all) the form shows what now holds.
        <ScheduleFields key={`${d.departmentId}:${d.version}`} session={session} d={d} departments={departments} busy={busy} run={run} />
      )}
      <Status message={message} testId="dept-message" />
    </section>
  );
}

type Run = (act: () => Promise<unknown>) => Promise<void>;

function CreateForm({ session, open, busy, run }: { session: Session; open: HrDepartment[]; busy: boolean; run: Run }) {
  const t = useT();
  const [name, setName] = useState("");
  const [code, setCode] = useState("");
  const [parent, setParent] = useState("");
  const create = () =>
    run(async () => {
      await command(session, "/api/departments", {}, { name, code, parent: parent || null });
      setName("");
      setCode("");
    });
  return (
    <fieldset>
      <legend>{t("newDepartment")}</legend>
      <input placeholder={t("name")} aria-label={t("name")} value={name} onChange={(ev) => setName(ev.target.value)} data-testid="dept-new-name" />
      <input placeholder={t("code")} aria-label={t("code")} value={code} onChange={(ev) => setCode(ev.target.value)} data-testid="dept-new-code" />
      <select aria-label={t("parentDepartment")} value={parent} onChange={(ev) => setParent(ev.target.value)} data-testid="dept-new-parent">
        <option value="">{t("topLevel")}</option>
        {open.map((x) => (
          <option key={x.departmentId} value={x.departmentId}>
            {x.name}
          </option>
        ))}
      </select>
      <button disabled={busy || !name.trim() || !code.trim()} onClick={create} data-testid="dept-create">
        {t("save")}
      </button>
    </fieldset>
  );
}

type FormProps = { session: Session; d: HrDepartment; open: HrDepartment[]; people: HrEmployee[]; busy: boolean; run: Run };

function DepartmentForms({ session, d, open, people, busy, run }: FormProps) {
  const t = useT();
  const id = { id: d.departmentId };
  const [name, setName] = useState(d.name);
  const [parent, setParent] = useState(d.parent?.departmentId ?? "");
  const [head, setHead] = useState(d.head?.employeeId ?? "");
  return (
    <div className="dept-forms">
      <SaveField legend={t("rename")} disabled={busy || !name.trim() || name === d.name} testId="dept-rename-save" onSave={() => run(() => send(session, "patch", "/api/departments/{id}", id, { name }, d.version))}>
        <input aria-label={t("name")} value={name} onChange={(ev) => setName(ev.target.value)} data-testid="dept-rename" />
      </SaveField>
      <SaveField legend={t("parentDepartment")} disabled={busy || parent === (d.parent?.departmentId ?? "")} testId="dept-move" onSave={() => run(() => send(session, "put", "/api/departments/{id}/parent", id, { parent: parent || null }, d.version))}>
        <select aria-label={t("parentDepartment")} value={parent} onChange={(ev) => setParent(ev.target.value)} data-testid="dept-parent">
          <option value="">{t("topLevel")}</option>
          {open
            .filter((x) => x.departmentId !== d.departmentId)
            .map((x) => (
              <option key={x.departmentId} value={x.departmentId}>
                {x.name}
              </option>
            ))}
        </select>
      </SaveField>
      <SaveField legend={t("head")} disabled={busy || head === (d.head?.employeeId ?? "")} testId="dept-head-save" onSave={() => run(() => send(session, "put", "/api/departments/{id}/head", id, { head: head || null }, d.version))}>
        <select aria-label={t("head")} value={head} onChange={(ev) => setHead(ev.target.value)} data-testid="dept-head">
          <option value="">{t("none")}</option>
          {people
            .filter((p) => p.active)
            .map((p) => (
              <option key={p.employeeId} value={p.employeeId}>
                {p.name}
              </option>
            ))}
        </select>
      </SaveField>
      <fieldset>
        <legend>{t("closeDepartment")}</legend>
        <ConfirmButton
          label="closeDepartment"
          ask="confirmClose"
          testId="dept-close"
          disabled={busy}
          onConfirm={() => run(() => command(session, "/api/departments/{id}/close", id, {}, d.version))}
        />
      </fieldset>
    </div>
  );
}
