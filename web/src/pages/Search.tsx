// 문서 검색: every document the viewer may see, found by words in its title, body, number or
// attachment names (the query API matches each word), narrowed by form, status, drafter and
// submission dates; a search can be saved as a named view (src/views.ts) and the list
// downloaded as CSV (src/csv.ts).
import { useContext, useState } from "react";
import { useQuery } from "urql";
import type { Session } from "../api";
import { graphql } from "../gql";
import type { ApprovalStatus } from "../gql/graphql";
import { formName, LangContext, statusLabels, useT } from "../i18n";
import { shortTime } from "../format";
import { downloadCsv, toCsv } from "../csv";
import { loadViews, saveViews, withView, type Filter, type View } from "../views";

const CHOICES = graphql(`
  query SearchChoices {
    forms { id nameKo nameEn }
    employees(first: 100, filter: { active: true }) { edges { node { employeeId name } } }
  }
`);

const SEARCH = graphql(`
  query SearchDocuments($filter: ApprovalFilter) {
    approvals(first: 100, filter: $filter) {
      edges { node { documentId title status number formId submittedAt updatedAt drafter { name } } }
      pageInfo { hasNextPage }
    }
  }
`);

const STATUSES: ApprovalStatus[] = ["DRAFT", "IN_PROGRESS", "ON_HOLD", "APPROVED", "REJECTED", "WITHDRAWN"];

/** The query's filter for what the form holds: dates as the start and end of those days. */
function asQuery(f: Filter) {
  return {
    text: f.text?.trim() || null,
    formId: f.formId || null,
    status: (f.status as ApprovalStatus) || null,
    drafterId: f.drafterId || null,
    submittedFrom: f.submittedFrom ? new Date(`${f.submittedFrom}T00:00:00`).toISOString() : null,
    submittedUntil: f.submittedUntil ? new Date(`${f.submittedUntil}T23:59:59.999`).toISOString() : null,
  };
}

export function Search({ session }: { session: Session }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [draft, setDraft] = useState<Filter>({});
  const [filter, setFilter] = useState<Filter>({});
  const [views, setViews] = useState<View[]>(() => loadViews(localStorage, session.employeeId));
  const [viewName, setViewName] = useState("");
  const [choices] = useQuery({ query: CHOICES });
  const [result] = useQuery({ query: SEARCH, variables: { filter: asQuery(filter) }, requestPolicy: "cache-and-network" });
  const forms = choices.data?.forms ?? [];
  const people = (choices.data?.employees.edges ?? []).map((e) => e.node);
  const rows = (result.data?.approvals.edges ?? []).map((e) => e.node);
  const formNamed = (id: string) => {
    const f = forms.find((x) => x.id === id);
    return f ? formName(f, lang) : id;
  };
  const set = (key: keyof Filter) => (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value });
  const keep = (next: View[]) => {
    setViews(next);
    saveViews(localStorage, session.employeeId, next);
  };
  const header = [t("documentNumber"), t("title"), t("form"), t("status"), t("drafter"), t("submittedOn")];
  const csvRows = rows.map((r) => [r.number ?? "", r.title, formNamed(r.formId), statusLabels[lang][r.status], r.drafter?.name ?? "", r.submittedAt ? shortTime(r.submittedAt) : ""]);
  return (
    <div className="search">
      <h1>{t("documentSearch")}</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(draft);
        }}
      >
        <label>
          {t("searchWords")} <input value={draft.text ?? ""} onChange={set("text")} data-testid="search-text" />
        </label>
        <label>
          {t("form")}{" "}
          <select value={draft.formId ?? ""} onChange={set("formId")} data-testid="search-form">
            <option value="">{t("any")}</option>
            {forms.map((f) => (
              <option key={f.id} value={f.id}>
                {formName(f, lang)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("status")}{" "}
          <select value={draft.status ?? ""} onChange={set("status")} data-testid="search-status">
            <option value="">{t("any")}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusLabels[lang][s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("drafter")}{" "}
          <select value={draft.drafterId ?? ""} onChange={set("drafterId")} data-testid="search-drafter">
            <option value="">{t("any")}</option>
            {people.map((p) => (
              <option key={p.employeeId} value={p.employeeId}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("submittedFrom")} <input type="date" value={draft.submittedFrom ?? ""} onChange={set("submittedFrom")} />
        </label>
        <label>
          {t("submittedUntil")} <input type="date" value={draft.submittedUntil ?? ""} onChange={set("submittedUntil")} />
        </label>
        <button type="submit" data-testid="search-run">
          {t("searchRun")}
        </button>
      </form>
      <div className="views">
        <label>
          {t("savedViews")}{" "}
          <select
            aria-label={t("savedViews")}
            value=""
            onChange={(e) => {
              const view = views.find((v) => v.name === e.target.value);
              if (view) {
                setDraft(view.filter);
                setFilter(view.filter);
              }
            }}
            data-testid="views"
          >
            <option value="" />
            {views.map((v) => (
              <option key={v.name} value={v.name}>
                {v.name}
              </option>
            ))}
          </select>
        </label>{" "}
        <input placeholder={t("viewName")} aria-label={t("viewName")} value={viewName} onChange={(e) => setViewName(e.target.value)} data-testid="view-name" />
        <button
          type="button"
          disabled={!viewName.trim()}
          onClick={() => {
            keep(withView(views, { name: viewName, filter: draft }));
            setViewName("");
          }}
          data-testid="view-save"
        >
          {t("saveView")}
        </button>
        <button type="button" disabled={rows.length === 0} onClick={() => downloadCsv("documents.csv", toCsv(header, csvRows))} data-testid="search-csv">
          {t("downloadCsv")}
        </button>
      </div>
      {result.error && <p role="alert">{`${t("failed")}: ${result.error.message}`}</p>}
      <table className="results" data-testid="search-results">
        <thead>
          <tr>
            {header.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.documentId}>
              <td>{r.number ?? "—"}</td>
              <td>
                <a href={`#/doc/${r.documentId}`}>{r.title}</a>
              </td>
              <td>{formNamed(r.formId)}</td>
              <td>{statusLabels[lang][r.status]}</td>
              <td>{r.drafter?.name}</td>
              <td>{r.submittedAt ? shortTime(r.submittedAt) : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {result.data?.approvals.pageInfo.hasNextPage && <p>{t("narrowSearch")}</p>}
    </div>
  );
}
