// Saved views (저장된 검색): a named set of document-search filters, kept per employee in this
// browser's storage, so a search someone runs every week is one click.

export type Filter = {
  text?: string;
  formId?: string;
  status?: string;
  drafterId?: string;
  submittedFrom?: string;
  submittedUntil?: string;
};

export type View = { name: string; filter: Filter };

/** At most this many views are kept; saving one more drops the oldest. */
export const MAX_VIEWS = 20;

const key = (employeeId: string) => `erp.views.${employeeId}`;

/** The views saved by `employeeId` (none when storage holds nothing readable). */
export function loadViews(storage: Storage, employeeId: string): View[] {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(key(employeeId)) ?? "[]");
    return Array.isArray(parsed)
      ? parsed.filter((v): v is View => typeof v?.name === "string" && typeof v?.filter === "object" && v.filter !== null)
      : [];
  } catch {
    return [];
  }
}

/** `views` with `view` saved: a view of the same name is replaced, empty fields are left out,
 * the newest comes last and only the last MAX_VIEWS are kept. */
export function withView(views: View[], view: View): View[] {
  const name = view.name.trim();
  if (!name) return views;
  const filter = Object.fromEntries(Object.entries(view.filter).filter(([, v]) => typeof v === "string" && v.trim() !== "")) as Filter;
  return [...views.filter((v) => v.name !== name), { name, filter }].slice(-MAX_VIEWS);
}

export function saveViews(storage: Storage, employeeId: string, views: View[]) {
  storage.setItem(key(employeeId), JSON.stringify(views));
}
