// 근무 일정: the schedule a department's members are judged by (its own, else the nearest
// ancestor's, else the standard day), and HR's form to set it or drop it again.
import { useContext, useState } from "react";
import { send, type Schema, type Session } from "../../api";
import { dictionaries, LangContext, useT, weekdayLabels, type Lang } from "../../i18n";
import type { HrDepartment } from "./Manage";

export type WorkSchedule = HrDepartment["schedule"];
type ScheduleBody = Schema<"ScheduleBody">;

/** The week as the command API names its days, Monday first. */
export const WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** What the form holds: the inputs' own strings (`""` for no core hours). */
export type ScheduleForm = { start: string; end: string; breakMinutes: string; coreStart: string; coreEnd: string; workDays: string[] };

export function scheduleForm(s: WorkSchedule): ScheduleForm {
  return {
    start: s.start,
    end: s.end,
    breakMinutes: String(s.breakMinutes),
    coreStart: s.coreStart ?? "",
    coreEnd: s.coreEnd ?? "",
    workDays: s.workDays,
  };
}

/** The `schedule` the command API takes, or null while a time or the break is missing. The
 * server judges the rest (end after start, core hours within the day, at least one day). */
export function scheduleBody(form: ScheduleForm): ScheduleBody | null {
  if (!form.start || !form.end || !/^\d+$/.test(form.breakMinutes.trim())) return null;
  return {
    start: form.start,
    end: form.end,
    break_minutes: Number(form.breakMinutes.trim()),
    core_start: form.coreStart || null,
    core_end: form.coreEnd || null,
    work_days: WEEK.filter((day) => form.workDays.includes(day)),
  };
}

/** Work days in week order, runs of three or more as a span: "월–금", "월·수·금", "Mon–Fri, Sun". */
export function workDaysText(days: string[], lang: Lang): string {
  const names = weekdayLabels[lang];
  const runs: string[][] = [];
  for (const day of WEEK.filter((d) => days.includes(d))) {
    const last = runs[runs.length - 1];
    if (last && WEEK.indexOf(last[last.length - 1]) === WEEK.indexOf(day) - 1) last.push(day);
    else runs.push([day]);
  }
  const parts = runs.flatMap((run) => (run.length >= 3 ? [`${names[run[0]]}–${names[run[run.length - 1]]}`] : run.map((d) => names[d])));
  return parts.join(lang === "ko" ? "·" : ", ");
}

/** "10:00–19:00 · 휴게 60분 · 코어 11:00–16:00 · 월–금". */
export function scheduleText(s: WorkSchedule, lang: Lang): string {
  const t = dictionaries[lang];
  return [
    `${s.start}–${s.end}`,
    `${t.breakLabel} ${s.breakMinutes}${t.minutesUnit}`,
    s.coreStart && s.coreEnd ? `${t.coreLabel} ${s.coreStart}–${s.coreEnd}` : null,
    workDaysText(s.workDays, lang),
  ]
    .filter(Boolean)
    .join(" · ");
}

type Tree = Pick<HrDepartment, "departmentId" | "name" | "hasOwnSchedule" | "parent">;

/** The nearest strict ancestor of `d` that sets its own schedule: what `d` follows without one
 * of its own (null: the standard day). */
export function inheritedFrom<D extends Tree>(d: D, departments: D[]): D | null {
  const seen = new Set([d.departmentId]);
  let at = departments.find((x) => x.departmentId === d.parent?.departmentId);
  while (at && !seen.has(at.departmentId)) {
    if (at.hasOwnSchedule) return at;
    seen.add(at.departmentId);
    const parent = at.parent?.departmentId;
    at = departments.find((x) => x.departmentId === parent);
  }
  return null;
}

/** Whose schedule it is, for the summary: "부서 자체 일정", "상위 부서 일정 (본부)", "표준 근무". */
export function scheduleSource<D extends Tree>(d: D, departments: D[], lang: Lang): string {
  const t = dictionaries[lang];
  if (d.hasOwnSchedule) return t.scheduleOwn;
  const from = inheritedFrom(d, departments);
  return from ? `${t.scheduleInherited} (${from.name})` : t.scheduleStandard;
}

type Run = (act: () => Promise<unknown>) => Promise<void>;
type Props = { session: Session; d: HrDepartment; departments: HrDepartment[]; busy: boolean; run: Run };

/** Set the department's own schedule, or drop it (`schedule: null`) to follow the parent's or
 * the standard day again. */
export function ScheduleFields({ session, d, departments, busy, run }: Props) {
  const t = useT();
  const lang = useContext(LangContext);
  const [form, setForm] = useState(() => scheduleForm(d.schedule));
  const body = scheduleBody(form);
  const unchanged = d.hasOwnSchedule && JSON.stringify(body) === JSON.stringify(scheduleBody(scheduleForm(d.schedule)));
  const put = (schedule: ScheduleBody | null) => run(() => send(session, "put", "/api/departments/{id}/schedule", { id: d.departmentId }, { schedule }, d.version));
  const set = (key: keyof ScheduleForm) => (ev: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [key]: ev.target.value });
  const toggle = (day: string) => setForm({ ...form, workDays: form.workDays.includes(day) ? form.workDays.filter((x) => x !== day) : [...form.workDays, day] });
  return (
    <fieldset className="schedule" data-testid="dept-schedule-form">
      <legend>{t("workSchedule")}</legend>
      <label>
        {t("startTime")} <input type="time" value={form.start} onChange={set("start")} data-testid="dept-schedule-start" />
      </label>
      <label>
        {t("endTime")} <input type="time" value={form.end} onChange={set("end")} data-testid="dept-schedule-end" />
      </label>
      <label>
        {t("breakMinutes")} <input type="number" min={0} step={10} value={form.breakMinutes} onChange={set("breakMinutes")} data-testid="dept-schedule-break" />
      </label>
      <label>
        {t("coreStart")} <input type="time" value={form.coreStart} onChange={set("coreStart")} data-testid="dept-schedule-core-start" />
      </label>
      <label>
        {t("coreEnd")} <input type="time" value={form.coreEnd} onChange={set("coreEnd")} data-testid="dept-schedule-core-end" />
      </label>
      <fieldset>
        <legend>{t("workDays")}</legend>
        {WEEK.map((day) => (
          <label key={day}>
            <input type="checkbox" checked={form.workDays.includes(day)} onChange={() => toggle(day)} data-testid={`dept-schedule-${day}`} />
            {weekdayLabels[lang][day]}
          </label>
        ))}
      </fieldset>
      <button disabled={busy || !body || unchanged} onClick={() => body && put(body)} data-testid="dept-schedule-save">
        {t("save")}
      </button>
      <button type="button" disabled={busy || !d.hasOwnSchedule} onClick={() => put(null)} data-testid="dept-schedule-reset">
        {inheritedFrom(d, departments) ? t("followParent") : t("resetStandard")}
      </button>
    </fieldset>
  );
}
