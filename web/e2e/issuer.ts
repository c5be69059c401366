// A test OpenID Connect issuer for the browser tests: discovery, an authorization endpoint
// that signs in one fixed person at once (no login page), a token endpoint that checks the
// PKCE verifier against the challenge (S256) and the redirect URI, and an RS256-signed ID
// token carrying the nonce it was given, with its JWKS.
import { createHash, createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Issuer = { url: string; close: () => Promise<void>; redeemed: () => number };

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export async function startIssuer(options: { clientId: string; email: string }): Promise<Issuer> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "test-1", alg: "RS256", use: "sig" };
  const codes = new Map<string, { redirectUri: string; challenge: string; nonce: string }>();
  let redeemed = 0;
  let url = "";
  const sign = (claims: object) => {
    const head = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "test-1" }));
    const body = b64url(JSON.stringify(claims));
    const signature = createSign("RSA-SHA256").update(`${head}.${body}`).sign(privateKey);
    return `${head}.${body}.${b64url(signature)}`;
  };
  const server: Server = createServer((req, res) => {
    const at = new URL(req.url ?? "/", url);
    const json = (status: number, body: object) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (at.pathname === "/.well-known/openid-configuration") {
      return json(200, {
        issuer: url,
        authorization_endpoint: `${url}/authorize`,
        token_endpoint: `${url}/token`,
        jwks_uri: `${url}/jwks`,
      });
    }
    if (at.pathname === "/jwks") return json(200, { keys: [jwk] });
    if (at.pathname === "/authorize") {
      const q = at.searchParams;
      if (q.get("client_id") !== options.clientId || q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) {
        return json(400, { error: "invalid_request" });
      }
      const code = randomBytes(16).toString("hex");
      codes.set(code, { redirectUri: q.get("redirect_uri") ?? "", challenge: q.get("code_challenge") ?? "", nonce: q.get("nonce") ?? "" });
      const back = new URL(q.get("redirect_uri") ?? "");
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state") ?? "");
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (at.pathname === "/token" && req.method === "POST") {
      let raw = "";
      req.on("data", (chunk) => (raw += chunk));
      req.on("end", () => {
        const form = new URLSearchParams(raw);
        const grant = codes.get(form.get("code") ?? "");
        codes.delete(form.get("code") ?? "");
        const verifier = form.get("code_verifier") ?? "";
        if (!grant || grant.redirectUri !== form.get("redirect_uri") || b64url(createHash("sha256").update(verifier).digest()) !== grant.challenge) {
          return json(400, { error: "invalid_grant" });
        }
        redeemed += 1;
        const now = Math.floor(Date.now() / 1000);
        const idToken = sign({ iss: url, aud: options.clientId, sub: "idp-user-1", email: options.email, email_verified: true, nonce: grant.nonce, iat: now, exp: now + 300 });
        return json(200, { id_token: idToken, access_token: "unused", token_type: "Bearer" });
      });
      return;
    }
    json(404, { error: "not_found" });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((ok) => server.close(() => ok())), redeemed: () => redeemed };
}
