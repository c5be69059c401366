// The directory (employees by department) and the viewer's leave balance.
import { useQuery } from "urql";
import { useT } from "../i18n";

const ADMIN = `{
  leaveBalance { balance used entries { kind days at reason } }
  orgChart { name children { name members { name positionTitle } } members { name positionTitle } }
}`;

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

export function Admin() {
  const t = useT();
  const [{ data, error }] = useQuery({ query: ADMIN });
  if (error) return <p className="error">{error.message}</p>;
  return (
    <div className="admin">
      <h1>{t("leave")}</h1>
      {data?.leaveBalance && (
        <p data-testid="leave">
          {data.leaveBalance.balance} / {t("done")} {data.leaveBalance.used}
        </p>
      )}
      <h1>{t("employees")}</h1>
      <ul>{(data?.orgChart ?? []).map((d: Dept) => <Department key={d.name} d={d} />)}</ul>
    </div>
  );
}
