// 기안: pick a form, fill its typed fields, take (or edit) the suggested line, save or submit.
import { useContext, useState } from "react";
import { useQuery } from "urql";
import { command, CommandError, uploadAttachment, type Session } from "../api";
import { fieldLabel, formName, LangContext, useT } from "../i18n";
import { graphql, useFragment } from "../gql";
import { formatSize, LineFragment, addApprover, addCc, fieldValue, lineForCommand, removeStep, stepMembers, type CommandValue, type Line } from "../format";

const FORMS = graphql(`
  query ComposeForms {
    forms { id version kind nameKo nameEn fields { key labelKo labelEn type required options maxLength multiline } amountField leaveDaysField }
    employees(first: 100, filter: { active: true }) { edges { node { employeeId name positionTitle } } }
  }
`);

/** Example times for the 근태정정 form's `HH:MM` text fields. */
const TIME_HINTS: Record<string, string> = { check_in: "09:00", check_out: "18:00" };

const SUGGEST = graphql(`
  query Suggest($form: String!, $amount: String, $days: String) {
    suggestLine(formId: $form, amount: $amount, leaveDays: $days) {
      line { ...LineParts }
      requiredApproverIds
    }
  }
`);

export function Compose({ session }: { session: Session }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [{ data }] = useQuery({ query: FORMS });
  const [formId, setFormId] = useState("general");
  const [title, setTitle] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  // 첨부파일: uploaded as they are picked; the draft names them by hash.
  const [files, setFiles] = useState<{ name: string; content_type: string; sha256: string; size: number }[]>([]);
  const [uploading, setUploading] = useState(false);
  const attach = async (picked: FileList | null) => {
    setMessage(null);
    setUploading(true);
    try {
      for (const file of Array.from(picked ?? [])) {
        const up = await uploadAttachment(session, file);
        setFiles((all) => [...all, { name: file.name, content_type: up.content_type, sha256: up.sha256, size: up.size }]);
      }
    } catch (e) {
      setMessage(e instanceof CommandError ? `${t("failed")}: ${e.message}` : String(e));
    } finally {
      setUploading(false);
    }
  };
  const form = data?.forms.find((f) => f.id === formId);
  const amount = form?.amountField ? values[form.amountField] : undefined;
  const days = form?.leaveDaysField ? values[form.leaveDaysField] : undefined;
  const [suggestion] = useQuery({
    query: SUGGEST,
    variables: { form: formId, amount: amount && /^\d/.test(amount) ? amount : null, days: days || null },
  });
  const fields = form?.fields ?? [];
  const people = (data?.employees.edges ?? []).map((e) => e.node);
  const nameOf = (id: string) => people.find((p) => p.employeeId === id)?.name ?? id;
  // The suggested line until the drafter edits it.
  const [edited, setEdited] = useState<Line | null>(null);
  const suggested = suggestion.data?.suggestLine.line;
  const line: Line = edited ?? (suggested ? lineForCommand(useFragment(LineFragment, suggested)) : { steps: [], cc: [], receivers: [] });
  const steps = line.steps ?? [];
  const cc = line.cc ?? [];
  // Approvers the company's 전결 규정 requires stay on the line: the server refuses a line
  // without them, so the editor does not offer to remove them.
  const required = suggestion.data?.suggestLine.requiredApproverIds ?? [];
  const [pick, setPick] = useState("");
  const save = async (submit: boolean) => {
    setMessage(null);
    const missing = fields.filter((f) => f.required && !values[f.key]?.trim()).map((f) => fieldLabel(f, lang));
    if (!title.trim() || missing.length) {
      setMessage(`${t("failed")}: ${[!title.trim() ? t("title") : null, ...missing].filter(Boolean).join(", ")}`);
      return;
    }
    const body = Object.fromEntries(fields.flatMap((f): [string, CommandValue][] => (values[f.key] ? [[f.key, fieldValue(f.type, values[f.key])]] : [])));
    try {
      const attachments = files.map((f) => ({ name: f.name, content_type: f.content_type, sha256: f.sha256 }));
      const draft = await command(session, "/api/approvals", {}, { form: formId, title, body, line, attachments });
      if (submit && draft.id) await command(session, "/api/approvals/{id}/submit", { id: draft.id }, {}, draft.version);
      location.hash = `#/doc/${draft.id}`;
    } catch (e) {
      setMessage(e instanceof CommandError ? `${t("failed")}: ${e.message}` : String(e));
    }
  };
  return (
    <div className="compose">
      <h1>{t("compose")}</h1>
      <label>
        {t("form")}{" "}
        <select value={formId} onChange={(e) => setFormId(e.target.value)} data-testid="form">
          {(data?.forms ?? []).map((f) => (
            <option key={f.id} value={f.id}>
              {formName(f, lang)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("title")} <input value={title} onChange={(e) => setTitle(e.target.value)} data-testid="title" required />
      </label>
      {fields.map((f) => (
        <label key={f.key}>
          {fieldLabel(f, lang)}
          {f.required ? " *" : ""}{" "}
          {f.type === "SELECT" ? (
            <select value={values[f.key] ?? ""} onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}>
              <option value="" />
              {(f.options ?? []).map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          ) : (f.type === "TEXT" && f.multiline !== false) || f.type === "LINE_ITEMS" ? (
            <textarea
              data-testid={`field-${f.key}`}
              value={values[f.key] ?? ""}
              onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
            />
          ) : (
            <input
              data-testid={`field-${f.key}`}
              type={f.type === "DATE" ? "date" : "text"}
              maxLength={f.maxLength ?? undefined}
              placeholder={form?.kind === "ATTENDANCE_CORRECTION" ? TIME_HINTS[f.key] : undefined}
              value={values[f.key] ?? ""}
              onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
            />
          )}
        </label>
      ))}
      <label>
        {t("attachments")}{" "}
        <input type="file" multiple onChange={(e) => void attach(e.target.files)} data-testid="attach" disabled={uploading} />
      </label>
      {files.length > 0 && (
        <ul className="attachments" data-testid="attached">
          {files.map((f, i) => (
            <li key={f.sha256 + i}>
              {f.name} ({formatSize(f.size)}){" "}
              <button aria-label={`${t("remove")} ${f.name}`} onClick={() => setFiles(files.filter((_, j) => j !== i))}>
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <h2>{edited ? t("line") : t("suggested")}</h2>
      <ol className="line" data-testid="suggested-line">
        {steps.map((s, i) => (
          <li key={i}>
            {s.kind === "agreement" ? "합의" : "결재"} {stepMembers(s).map(nameOf).join(", ")}{" "}
            {stepMembers(s).some((m) => required.includes(m)) ? (
              <span className="required" title={t("requiredByRule")}>
                {t("requiredByRule")}
              </span>
            ) : (
              <button aria-label={`${t("remove")} ${stepMembers(s).map(nameOf).join(", ")}`} onClick={() => setEdited(removeStep(line, i))}>
                ✕
              </button>
            )}
          </li>
        ))}
      </ol>
      {cc.length > 0 && (
        <p data-testid="cc">
          {t("cc")}: {cc.map(nameOf).join(", ")}
        </p>
      )}
      <select value={pick} onChange={(e) => setPick(e.target.value)} aria-label={t("line")} data-testid="line-pick">
        <option value="" />
        {people
          .filter((p) => p.employeeId !== session.employeeId)
          .map((p) => (
            <option key={p.employeeId} value={p.employeeId}>
              {p.name} {p.positionTitle ?? ""}
            </option>
          ))}
      </select>
      <button disabled={!pick} onClick={() => setEdited(addApprover(line, pick))} data-testid="line-add">
        {t("addApprover")}
      </button>
      <button disabled={!pick} onClick={() => setEdited(addCc(line, pick))} data-testid="cc-add">
        {t("addCc")}
      </button>
      {edited && <button onClick={() => setEdited(null)}>{t("suggested")}</button>}
      {suggestion.error && <p className="error">{suggestion.error.message}</p>}
      <button onClick={() => save(false)}>{t("saveDraft")}</button>
      <button onClick={() => save(true)} data-testid="submit" disabled={uploading}>
        {t("submit")}
      </button>
      {message && <p className="error" data-testid="message">{message}</p>}
    </div>
  );
}
