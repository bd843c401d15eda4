import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  connect as tcpConnect,
} from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { WebSocketServer } from "ws";
import { TEST_INFRA } from "../support/infra.js";

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server, sockets: Set<Socket>) {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return sockets;
}

/**
 * Signs access tokens as auth does (EdDSA, iss, aud, sub, role) and serves the JWKS; also makes
 * the tokens an attacker would try: another key, `alg: none`, HS256 keyed with the public key.
 */
export async function startTokenIssuer() {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const forger = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
  const server = createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  const sockets = track(server);
  const url = await listen(server);
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (sub: string, role: string) => ({
    sub,
    role,
    iss: "shopstream-auth",
    aud: "shopstream",
    iat: now(),
    exp: now() + 900,
  });

  return {
    jwksUrl: `${url}/.well-known/jwks.json`,
    /** A valid token; `expired` makes one whose `exp` has passed. */
    token(options: { sub?: string; role?: "customer" | "admin"; expired?: boolean; forged?: boolean } = {}) {
      const c = claims(options.sub ?? randomUUID(), options.role ?? "customer");
      if (options.expired) {
        c.iat -= 3600;
        c.exp = now() - 60;
      }
      return new SignJWT({ role: c.role })
        .setProtectedHeader({ alg: "EdDSA", kid })
        .setSubject(c.sub)
        .setIssuer(c.iss)
        .setAudience(c.aud)
        .setIssuedAt(c.iat)
        .setExpirationTime(c.exp)
        .sign(options.forged ? forger.privateKey : privateKey);
    },
    /** An unsigned token that claims to be an admin. */
    algNone(): string {
      return `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims(randomUUID(), "admin"))}.`;
    },
    /** HS256 with the (public) verification key as the HMAC secret: the classic confusion attack. */
    async hs256WithPublicKey(): Promise<string> {
      const secret = new TextEncoder().encode(await exportSPKI(publicKey));
      return new SignJWT({ role: "admin" })
        .setProtectedHeader({ alg: "HS256", kid })
        .setSubject(randomUUID())
        .setIssuer("shopstream-auth")
        .setAudience("shopstream")
        .setIssuedAt()
        .setExpirationTime("15m")
        .sign(secret);
    },
    close: closer(server, sockets),
  };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  bodyBytes: number;
}

/** An upstream that answers every request with what it received (and remembers it). */
export async function startEchoUpstream() {
  const seen: SeenRequest[] = [];
  const server = createServer(async (req, res) => {
    let bodyBytes = 0;
    try {
      for await (const chunk of req) bodyBytes += (chunk as Buffer).length;
    } catch {
      return; // the gateway cut the request off (a body over the limit)
    }
    const record = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyBytes };
    seen.push(record);
    if (req.url?.startsWith("/products/stalls")) {
      // Starts an answer, then goes silent for good.
      res.writeHead(200, { "content-type": "application/json", "x-stand-in": "echo" });
      res.write('{"items":[');
      return;
    }
    if (req.url?.startsWith("/products/fails")) {
      res.writeHead(500, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ type: "about:blank", title: "Internal Server Error", status: 500 }));
      return;
    }
    // `x-stand-in`: the contract check (test/support/contract.ts) skips what no real service said.
    res.writeHead(200, { "content-type": "application/json", "x-upstream": "echo", "x-stand-in": "echo" });
    res.end(JSON.stringify(record));
  });
  const sockets = track(server);
  return { url: await listen(server), seen, close: closer(server, sockets) };
}

/** The gateway's env with every service behind one upstream (an echo) and tokens from `issuer`. */
export const everyUpstreamAt = (url: string, jwksUrl: string) => ({
  JWKS_URL: jwksUrl,
  AUTH_URL: url,
  PRODUCT_URL: url,
  CART_URL: url,
  ORDER_URL: url,
  NOTIFICATION_URL: url,
  ANALYTICS_URL: url,
});

/** An upstream that accepts connections and requests but never answers. */
export async function startSilentUpstream() {
  let received = 0;
  const server = createServer(() => {
    received += 1;
  });
  const sockets = track(server);
  return { url: await listen(server), received: () => received, close: closer(server, sockets) };
}

/**
 * A stand-in for the notification WebSocket at `/notifications/ws`: it greets each connection
 * with the path, query and subprotocol it saw, then echoes every message.
 */
export async function startWebSocketUpstream() {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const sockets = track(server);
  const wss = new WebSocketServer({
    server,
    path: "/notifications/ws",
    handleProtocols: (protocols) => (protocols.has("bearer") ? "bearer" : false),
  });
  wss.on("connection", (ws, req) => {
    ws.send(
      JSON.stringify({
        url: req.url,
        protocol: ws.protocol,
        requestId: req.headers["x-request-id"],
        forwardedFor: req.headers["x-forwarded-for"],
      }),
    );
    ws.on("message", (data) => ws.send(`echo:${data.toString()}`));
  });
  const url = await listen(server);
  return {
    url,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closer(server, sockets)();
    },
  };
}

/**
 * A TCP relay in front of Redis that a test can cut, refuse for a while, or hold: while held,
 * what the gateway sends to Redis waits in the relay (its rate-limit lookups stay pending) until
 * `release`.
 */
export async function startRedisRelay() {
  const target = new URL(TEST_INFRA.redisUrl);
  const sockets = new Set<Socket>();
  let held: { to: Socket; chunk: Buffer }[] | undefined;
  let refusing = false;
  const server = createTcpServer((inbound) => {
    if (refusing) {
      inbound.destroy();
      return;
    }
    const outbound = tcpConnect(Number(target.port || 6379), target.hostname);
    sockets.add(inbound);
    sockets.add(outbound);
    inbound.on("data", (chunk: Buffer) => {
      if (held) held.push({ to: outbound, chunk });
      else outbound.write(chunk);
    });
    outbound.pipe(inbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", drop).on("close", drop);
    outbound.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    hold() {
      held = [];
    },
    /** How many times `text` occurs in what is being held. */
    heldCount(text: string): number {
      return (
        Buffer.concat((held ?? []).map((h) => h.chunk))
          .toString("latin1")
          .split(text).length - 1
      );
    },
    release() {
      const pending = held ?? [];
      held = undefined;
      for (const { to, chunk } of pending) to.write(chunk);
    },
    /** Drops every connection and refuses new ones until `restore` (Redis is away for a while). */
    refuse() {
      refusing = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      refusing = false;
    },
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
