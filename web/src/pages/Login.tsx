import { useEffect, useState } from "react";
import { devLogin, devUsers, type DevUser, type Session } from "../api";
import { useT } from "../i18n";

export function Login({ onLogin, onLang }: { onLogin: (s: Session) => void; onLang: () => void }) {
  const t = useT();
  const [users, setUsers] = useState<DevUser[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    devUsers().then(setUsers).catch((e) => setError(String(e)));
  }, []);
  return (
    <div className="login">
      <h1>{t("appTitle")}</h1>
      <button onClick={onLang}>{t("language")}</button>
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
