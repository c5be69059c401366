// 조직·휴가: the org chart, my leave (anyone's for HR admins and auditors), and my proxy
// (대결자): name a colleague who may decide in my seat for a window.
import { useState } from "react";
import { useQuery } from "urql";
import { command, CommandError, type Session } from "../api";
import { useT } from "../i18n";

const ADMIN = `query Admin($who: ID) {
  me { employeeId roles }
  leaveBalance(employeeId: $who) { employeeId balance used entries { kind days at reason } }
  orgChart { ...Dept children { ...Dept children { ...Dept children { ...Dept } } } }
  employees(first: 100, filter: { active: true }) { edges { node { employeeId name } } }
  myDelegations { delegationId principal { name } validUntil }
}
fragment Dept on Department { name members { name positionTitle } }`;

type Dept = { name: string; members: { name: string; positionTitle?: string }[]; children?: Dept[] };

function Department({ d }: { d: Dept }) {
  return (
    <li>
      <strong>{d.name}</strong>: {d.members.map((m) => `${m.name}${m.positionTitle ? ` (${m.positionTitle})` : ""}`).join(", ")}
      {d.children && d.children.length > 0 && (
        <ul>
          {d.children.map((c) => (
            <Department key={c.name} d={c} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function Admin({ session }: { session: Session }) {
  const t = useT();
  const [who, setWho] = useState<string | null>(null);
  const [{ data, error }, refetch] = useQuery({ query: ADMIN, variables: { who } });
  const [proxy, setProxy] = useState("");
  const [until, setUntil] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  if (error) return <p className="error">{error.message}</p>;
  const people: { employeeId: string; name: string }[] = (data?.employees.edges ?? []).map((e: { node: { employeeId: string; name: string } }) => e.node);
  const readsAll = (data?.me.roles ?? []).some((r: string) => r === "hr_admin" || r === "auditor");
  const nameProxy = async () => {
    setMessage(null);
    try {
      await command(session, "/api/delegations", {
        proxy,
        from: new Date().toISOString(),
        until: new Date(`${until}T23:59:59`).toISOString(),
        reason: t("proxyApprove"),
      });
      setMessage(t("done"));
      refetch({ requestPolicy: "network-only" });
    } catch (e) {
      setMessage(e instanceof CommandError ? `${t("failed")}: ${e.message}` : String(e));
    }
  };
  return (
    <div className="admin">
      <h1>{t("leave")}</h1>
      {readsAll && (
        <select aria-label={t("employees")} value={who ?? ""} onChange={(e) => setWho(e.target.value || null)}>
          <option value="">{session.name}</option>
          {people.map((p) => (
            <option key={p.employeeId} value={p.employeeId}>
              {p.name}
            </option>
          ))}
        </select>
      )}
      {data?.leaveBalance && (
        <p data-testid="leave">
          {data.leaveBalance.balance} ({t("used")} {data.leaveBalance.used})
        </p>
      )}
      <h1>{t("myProxy")}</h1>
      <label>
        {t("proxy")}{" "}
        <select value={proxy} onChange={(e) => setProxy(e.target.value)} data-testid="proxy-select">
          <option value="" />
          {people
            .filter((p) => p.employeeId !== session.employeeId)
            .map((p) => (
              <option key={p.employeeId} value={p.employeeId}>
                {p.name}
              </option>
            ))}
        </select>
      </label>{" "}
      <label>
        {t("until")} <input type="date" value={until} onChange={(e) => setUntil(e.target.value)} data-testid="proxy-until" />
      </label>{" "}
      <button disabled={!proxy || !until} onClick={nameProxy} data-testid="proxy-save">
        {t("save")}
      </button>
      {message && <p className="message">{message}</p>}
      {(data?.myDelegations ?? []).length > 0 && (
        <p>
          {t("actingFor")}: {data.myDelegations.map((d: { principal?: { name: string }; validUntil: string }) => `${d.principal?.name} (~${d.validUntil.slice(0, 10)})`).join(", ")}
        </p>
      )}
      <h1>{t("employees")}</h1>
      <ul>{(data?.orgChart ?? []).map((d: Dept) => <Department key={d.name} d={d} />)}</ul>
    </div>
  );
}
