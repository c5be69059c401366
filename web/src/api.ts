// Talking to the server: REST commands (with If-Match, Idempotency-Key and the position
// token they return) and the urql GraphQL client (queries over HTTP carrying the last
// position for read-your-writes, subscriptions over graphql-ws).
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";
import { createClient as createWsClient } from "graphql-ws";

export type Session = { token: string; employeeId: string; name: string };

const KEY = "erp.session";

export function loadSession(): Session | null {
  const raw = localStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
}

export function saveSession(session: Session | null) {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
}

/** The newest position token a command returned; queries wait for it (read-your-writes). */
let lastPosition: string | null = null;

export class CommandError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export type CommandReply = { id?: string; version?: number; position?: string | null };

/** POSTs a command; a 409 becomes a CommandError with code `conflict` (or the server's). */
export async function command(
  session: Session,
  path: string,
  body: unknown,
  version?: number,
): Promise<CommandReply> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    authorization: `Bearer ${session.token}`,
    "idempotency-key": crypto.randomUUID(),
  };
  if (version !== undefined) headers["if-match"] = `"${version}"`;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
  const reply = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new CommandError(response.status, reply.code ?? String(response.status), reply.detail ?? reply.title ?? "error");
  }
  if (reply.position) lastPosition = reply.position;
  return reply as CommandReply;
}

export type DevUser = { id: string; name: string; position: string; department: string; roles: string[] };

export async function devUsers(): Promise<DevUser[]> {
  const response = await fetch("/auth/dev-users");
  return response.ok ? response.json() : [];
}

export async function devLogin(user: DevUser): Promise<Session> {
  const response = await fetch("/auth/dev-login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ employee_id: user.id }),
  });
  if (!response.ok) throw new Error(`login failed: ${response.status}`);
  const { token } = await response.json();
  return { token, employeeId: user.id, name: user.name };
}

export function graphqlClient(session: Session): Client {
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql/ws`;
  const ws = createWsClient({
    url: wsUrl,
    connectionParams: { Authorization: `Bearer ${session.token}` },
    retryAttempts: Infinity,
    shouldRetry: () => true,
  });
  return new Client({
    url: "/graphql",
    // The query API takes POST only (bodies are size-checked before parsing).
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? "" }, sink) }),
        }),
      }),
      fetchExchange,
    ],
    fetchOptions: () => {
      const headers: Record<string, string> = { authorization: `Bearer ${session.token}` };
      if (lastPosition) headers["x-erp-position"] = lastPosition;
      return { headers };
    },
  });
}
