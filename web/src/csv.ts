// CSV as spreadsheet programs read it: RFC 4180, a header row, every text field quoted (quotes
// doubled), numbers bare, CRLF line ends; downloaded with a byte-order mark so Korean reads
// as UTF-8.

export type Cell = string | number | null | undefined;

/** Only these leading characters make a spreadsheet treat a cell as a formula. */
const FORMULA = /^[=+\-@\t\r]/;

/** `header` and `rows` as CSV. A text cell that would start a formula is prefixed with `'`. */
export function toCsv(header: string[], rows: Cell[][]): string {
  const cell = (v: Cell) => {
    if (typeof v === "number") return String(v);
    const text = String(v ?? "");
    return `"${(FORMULA.test(text) ? `'${text}` : text).replace(/"/g, '""')}"`;
  };
  return [header.map(cell), ...rows.map((r) => r.map(cell))].map((line) => line.join(",")).join("\r\n") + "\r\n";
}

/** Hands `csv` to the browser as a file called `name`. */
export function downloadCsv(name: string, csv: string) {
  const url = URL.createObjectURL(new Blob(["\ufeff", csv], { type: "text/csv;charset=utf-8" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
