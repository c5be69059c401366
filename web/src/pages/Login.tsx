import { useEffect, useState } from "react";
import { devLogin, devUsers, oidcEnabled, startSignIn, type DevUser, type Session } from "../api";
import { useT } from "../i18n";

export function Login({ onLogin, onLang }: { onLogin: (s: Session) => void; onLang: () => void }) {
  const t = useT();
  const [users, setUsers] = useState<DevUser[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [oidc, setOidc] = useState(false);
  useEffect(() => {
    devUsers().then(setUsers).catch((e) => setError(String(e)));
    oidcEnabled().then(setOidc, () => setOidc(false));
  }, []);
  return (
    <div className="login">
      <h1>{t("appTitle")}</h1>
      <button onClick={onLang}>{t("language")}</button>
      {oidc && (
        <p>
          <button type="button" className="primary" onClick={startSignIn} data-testid="oidc-login">
            {t("companySignIn")}
          </button>
        </p>
      )}
      <h2>{t("loginAs")}</h2>
      {error && <p className="error">{error}</p>}
      <ul className="users">
        {users.map((u) => (
          <li key={u.id}>
            <button data-testid={`login-${u.id}`} onClick={() => devLogin(u).then(onLogin, (e) => setError(String(e)))}>
              <strong>{u.name}</strong> {u.position} · {u.department}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
