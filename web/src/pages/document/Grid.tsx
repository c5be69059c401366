// 결재란: the document's header (number and dates) and its approval grid — a box per seat
// with position, name, stamp and date, a 합의 row, and 참조 — drawn from `grid` (src/grid.ts).
// The document page refetches on `approvalUpdated`, so the boxes fill as decisions arrive.
import { graphql, useFragment, type FragmentType } from "../../gql";
import { useT } from "../../i18n";
import { grid, stampText, type Seat } from "../../grid";
import { shortTime } from "../../format";

export const GridFragment = graphql(`
  fragment DocumentGrid on Approval {
    number
    draftedAt
    submittedAt
    completedAt
    drafter { name positionTitle }
    steps {
      index
      kind
      state
      members {
        employeeId
        employee { name positionTitle }
        decision { verdict proxy finalAuthority at by { name } }
      }
    }
    cc { name positionTitle }
    timeline { action actorId at }
  }
`);

function monthDay(iso: string): string {
  const d = new Date(iso);
  return `${String(d.getMonth() + 1).padStart(2, "0")}/${String(d.getDate()).padStart(2, "0")}`;
}

function Row({ label, seats, t }: { label: string; seats: Seat[]; t: ReturnType<typeof useT> }) {
  return (
    <table className="stamps" data-testid={`grid-${label}`}>
      <tbody>
        <tr>
          <th rowSpan={3} scope="rowgroup" className="row-label">
            {label}
          </th>
          {seats.map((s) => (
            <td key={s.key} className="seat-title">
              {s.title}
            </td>
          ))}
        </tr>
        <tr>
          {seats.map((s) => {
            const stamp = stampText(s);
            return (
              <td
                key={s.key}
                className={`seat ${s.state}`}
                data-testid="seat"
                data-state={s.state}
                aria-label={`${s.title} ${s.name}: ${t(`seat_${s.state}`)}${s.mark ? ` (${s.mark})` : ""}`}
              >
                {stamp ? <span className={`seal ${s.state}`}>{stamp}</span> : <span className="name">{s.name}</span>}
                {s.mark && <small className="mark">{s.mark}</small>}
                {s.state === "current" && <small className="pending">{t("seat_current")}</small>}
              </td>
            );
          })}
        </tr>
        <tr>
          {seats.map((s) => (
            <td key={s.key} className="seat-date">
              {s.at ? <time dateTime={s.at}>{monthDay(s.at)}</time> : ""}
            </td>
          ))}
        </tr>
      </tbody>
    </table>
  );
}

export function Grid(props: { doc: FragmentType<typeof GridFragment> }) {
  const t = useT();
  const doc = useFragment(GridFragment, props.doc);
  const { approvals, agreements } = grid(doc);
  return (
    <section className="gyeoljae" aria-label={t("approvalGrid")} data-testid="approval-grid">
      <dl className="doc-head">
        <dt>{t("documentNumber")}</dt>
        <dd data-testid="grid-number">{doc.number ?? "—"}</dd>
        <dt>{t("draftedOn")}</dt>
        <dd>{shortTime(doc.draftedAt)}</dd>
        {doc.submittedAt && (
          <>
            <dt>{t("submittedOn")}</dt>
            <dd>{shortTime(doc.submittedAt)}</dd>
          </>
        )}
        {doc.completedAt && (
          <>
            <dt>{t("completedOn")}</dt>
            <dd>{shortTime(doc.completedAt)}</dd>
          </>
        )}
      </dl>
      <div className="stamp-rows">
        <Row label="결재" seats={approvals} t={t} />
        {agreements.length > 0 && <Row label="합의" seats={agreements} t={t} />}
      </div>
      {doc.cc.length > 0 && (
        <p className="grid-cc">
          <span className="row-label">참조</span> {doc.cc.map((c) => (c.positionTitle ? `${c.name} ${c.positionTitle}` : c.name)).join(", ")}
        </p>
      )}
    </section>
  );
}
