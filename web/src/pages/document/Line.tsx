// The approval line of a document: each step with its state and decisions, the 전결 규정 it
// was submitted under, 참조 and 수신.
import { useContext } from "react";
import { graphql, useFragment, type FragmentType } from "../../gql";
import { LangContext, stepLabels, useT } from "../../i18n";
import { shortTime } from "../../format";

export const LineFragment = graphql(`
  fragment DocumentLine on Approval {
    steps {
      index
      kind
      state
      finalAuthority
      members { employeeId employee { name } decision { verdict at proxy } }
    }
    authority { tableVersion row { upTo finalRank } finalApprover { name } }
    cc { name }
    receivers { name }
  }
`);

export function Line(props: { doc: FragmentType<typeof LineFragment> }) {
  const t = useT();
  const lang = useContext(LangContext);
  const doc = useFragment(LineFragment, props.doc);
  return (
    <>
      <h2>{t("line")}</h2>
      <ol className="line">
        {doc.steps.map((s) => (
          <li key={s.index} className={`step ${s.state.toLowerCase()}`} data-testid="step">
            <span className="kind">{s.kind === "AGREEMENT" ? "합의" : "결재"}</span>{" "}
            {s.members.map((m) => (
              <span key={m.employeeId} className="member">
                {m.employee?.name}{" "}
                {m.decision ? `✔ ${m.decision.verdict}${m.decision.proxy ? " (대결)" : ""} ${shortTime(m.decision.at)}` : ""}
              </span>
            ))}
            {s.finalAuthority && <span className="authority"> ({t("finalAuthority")}) </span>}
            <span className="state">{stepLabels[lang][s.state]}</span>
          </li>
        ))}
      </ol>
      {doc.authority && (
        <p className="authority-rule" data-testid="authority-rule">
          {t("authorityRule")} v{doc.authority.tableVersion}: {t("rankAtLeast")} {doc.authority.row.finalRank}
          {doc.authority.row.upTo ? ` (≤ ${doc.authority.row.upTo})` : ""}
          {doc.authority.finalApprover ? ` · ${t("finalAuthority")}: ${doc.authority.finalApprover.name}` : ""}
        </p>
      )}
      {doc.cc.length > 0 && (
        <p>
          {t("cc")}: {doc.cc.map((c) => c.name).join(", ")}
        </p>
      )}
      {doc.receivers.length > 0 && (
        <p>
          {t("receivers")}: {doc.receivers.map((r) => r.name).join(", ")}
        </p>
      )}
    </>
  );
}
