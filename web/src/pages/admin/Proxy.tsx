// 나의 대결자: name a colleague who may decide in my seat until a day, and revoke what I named
// here; the seats I may take (대결 중), which HR admins may revoke too.
import { useState } from "react";
import { command, type Session } from "../../api";
import { useT } from "../../i18n";
import { Status, useRun } from "./run";

type Named = { id: string; name: string; until: string };
type Seat = { delegationId: string; validUntil: string; principal?: { name: string } | null };

export function Proxy({
  session,
  people,
  seats,
  hr,
  onDone,
}: {
  session: Session;
  people: { employeeId: string; name: string }[];
  seats: Seat[];
  hr: boolean;
  onDone: () => void;
}) {
  const t = useT();
  const [proxy, setProxy] = useState("");
  const [until, setUntil] = useState("");
  // The query API lists only the seats naming the viewer, so the ones named here are kept
  // for the visit, to be revoked.
  const [named, setNamed] = useState<Named[]>([]);
  const { message, busy, run } = useRun(onDone);
  const nameProxy = () =>
    run(async () => {
      const reply = await command(session, "/api/delegations", {}, {
        proxy,
        from: new Date().toISOString(),
        until: new Date(`${until}T23:59:59`).toISOString(),
        reason: t("proxyApprove"),
      });
      const name = people.find((p) => p.employeeId === proxy)?.name ?? proxy;
      if (reply.id) setNamed((n) => [...n, { id: reply.id ?? "", name, until }]);
    });
  const revoke = (id: string) =>
    run(async () => {
      await command(session, "/api/delegations/{id}/revoke", { id }, {});
      setNamed((n) => n.filter((d) => d.id !== id));
    });
  return (
    <>
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
      <button disabled={busy || !proxy || !until} onClick={nameProxy} data-testid="proxy-save">
        {t("save")}
      </button>
      {named.length > 0 && (
        <ul data-testid="proxy-named">
          {named.map((d) => (
            <li key={d.id}>
              {d.name} (~{d.until}){" "}
              <button disabled={busy} onClick={() => revoke(d.id)} data-testid={`proxy-revoke-${d.id}`}>
                {t("revoke")}
              </button>
            </li>
          ))}
        </ul>
      )}
      <Status message={message} testId="proxy-message" />
      {seats.length > 0 && (
        <p data-testid="acting-for">
          {t("actingFor")}:{" "}
          {hr
            ? seats.map((d) => (
                <span key={d.delegationId}>
                  {d.principal?.name} (~{d.validUntil.slice(0, 10)}){" "}
                  <button disabled={busy} onClick={() => revoke(d.delegationId)} data-testid={`delegation-revoke-${d.delegationId}`}>
                    {t("revoke")}
                  </button>{" "}
                </span>
              ))
            : seats.map((d) => `${d.principal?.name} (~${d.validUntil.slice(0, 10)})`).join(", ")}
        </p>
      )}
    </>
  );
}
