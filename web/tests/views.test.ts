import { describe, expect, it } from "vitest";
import { MAX_VIEWS, loadViews, saveViews, withView } from "../src/views";
import { toCsv } from "../src/csv";

describe("saved views", () => {
  it("replaces a view of the same name, leaves out empty fields, keeps the newest last", () => {
    let views = withView([], { name: "내 지출", filter: { formId: "expense", text: "" } });
    views = withView(views, { name: "반려", filter: { status: "REJECTED" } });
    views = withView(views, { name: " 내 지출 ", filter: { formId: "expense", status: "APPROVED" } });
    expect(views).toEqual([
      { name: "반려", filter: { status: "REJECTED" } },
      { name: "내 지출", filter: { formId: "expense", status: "APPROVED" } },
    ]);
    expect(withView(views, { name: "  ", filter: {} })).toBe(views);
  });

  it("keeps at most MAX_VIEWS, dropping the oldest", () => {
    let views = withView([], { name: "v0", filter: {} });
    for (let i = 1; i <= MAX_VIEWS; i++) views = withView(views, { name: `v${i}`, filter: {} });
    expect(views.length).toBe(MAX_VIEWS);
    expect(views[0].name).toBe("v1");
  });

  it("are kept per employee and survive unreadable storage", () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
    } as unknown as Storage;
    saveViews(storage, "me", [{ name: "a", filter: { text: "회의" } }]);
    expect(loadViews(storage, "me")).toEqual([{ name: "a", filter: { text: "회의" } }]);
    expect(loadViews(storage, "someone else")).toEqual([]);
    store.set("erp.views.me", "{not json");
    expect(loadViews(storage, "me")).toEqual([]);
  });
});

describe("CSV", () => {
  it("quotes text, doubles quotes, leaves numbers bare and defuses formulas", () => {
    expect(toCsv(["제목", "금액"], [['회의 "A"', 1200], ["=HYPERLINK(1)", null]])).toBe(
      '"제목","금액"\r\n"회의 ""A""",1200\r\n"\'=HYPERLINK(1)",""\r\n',
    );
  });
});
