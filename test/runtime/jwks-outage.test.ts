import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  authenticate,
  commonEnv,
  createTokenVerifier,
  defineService,
  type RunningService,
  startService,
} from "@shopstream/runtime";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { api, isProblem } from "../support/http.js";

// The auth service's JWKS as a server the test controls: its answer can turn into an outage, a
// non-200 or something that is not a key set, while the signing key itself never changes.

type Answer = "keys" | "down" | "500" | "not-json" | "no-keys" | "rotated";
let answer: Answer = "keys";
let fetches = 0;
let server: Server;
let jwksUrl = "";
let service: RunningService<unknown>;
let sign: (kid?: string) => Promise<string>;
let publicJwk: JWK;
let rotatedJwk: JWK;
let signRotated: () => Promise<string>;

const MINUTE = 60_000;

beforeAll(async () => {
  const key = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const next = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  publicJwk = { ...(await exportJWK(key.publicKey)), kid: "k1", alg: "EdDSA", use: "sig" };
  rotatedJwk = { ...(await exportJWK(next.publicKey)), kid: "k2", alg: "EdDSA", use: "sig" };
  const token = (privateKey: Parameters<SignJWT["sign"]>[0], kid: string) =>
    new SignJWT({ role: "customer" })
      .setProtectedHeader({ alg: "EdDSA", kid })
      .setSubject("user-1")
      .setIssuer("shopstream-auth")
      .setAudience("shopstream")
      .setIssuedAt()
      // Fake clocks move hours ahead: the token outlives them.
      .setExpirationTime("1d")
      .sign(privateKey);
  sign = (kid = "k1") => token(key.privateKey, kid);
  signRotated = () => token(next.privateKey, "k2");

  server = createServer((req, res) => {
    fetches++;
    if (answer === "down") return req.socket.destroy();
    if (answer === "500") return res.writeHead(500).end("oops");
    res.writeHead(200, { "content-type": "application/json" });
    if (answer === "not-json") return res.end("<html>maintenance</html>");
    if (answer === "no-keys") return res.end(JSON.stringify({ keys: [] }));
    const keys = answer === "rotated" ? [publicJwk, rotatedJwk] : [publicJwk];
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(async () => {
  vi.useRealTimers();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A service like every other: one route behind the runtime's `authenticate`. */
async function startGuarded() {
  const verifier = createTokenVerifier({ jwksUrl, issuer: "shopstream-auth", audience: "shopstream" });
  const definition = defineService({
    name: "guarded",
    configSchema: z.object({ ...commonEnv }),
    async create() {
      return {
        readiness: {},
        routes: (app) =>
          // `x-stand-in`: no route of the public API, so the contract check leaves its 200 alone.
          app.get("/me", authenticate(verifier), (_req, res) =>
            res.set("x-stand-in", "guarded").json({ user: res.locals.user.id }),
          ),
      };
    },
  });
  return startService(definition, { env: { LOG_LEVEL: "silent" }, port: 0, host: "127.0.0.1" });
}

const me = async (token: string) => api(`${service.url}/me`, { token });

describe("verifying tokens while the JWKS is in trouble", () => {
  beforeEach(async () => {
    vi.useRealTimers();
    await service?.stop();
    answer = "keys";
    service = await startGuarded();
    // Only Date moves: sockets and timers keep real time.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    expect((await me(await sign())).status).toBe(200);
  });
  afterAll(async () => {
    vi.useRealTimers();
    await service?.stop();
  });

  it("keeps verifying with the last good keys past the cache age while auth is down", async () => {
    answer = "down";
    vi.setSystemTime(Date.now() + 11 * MINUTE);
    const res = await me(await sign());
    expect(res.status).toBe(200);
    expect(res.body.user).toBe("user-1");
    // Still so 50 minutes later: within the stale bound, a refresh is tried and fails.
    vi.setSystemTime(Date.now() + 50 * MINUTE);
    expect((await me(await sign())).status).toBe(200);
  });

  it("answers 503, never 401, once the last good keys are older than the stale bound", async () => {
    answer = "500";
    vi.setSystemTime(Date.now() + 71 * MINUTE);
    const res = await me(await sign());
    expect(isProblem(res, 503)).toBe(true);
    // Auth is back: the next request refreshes and passes.
    answer = "keys";
    expect((await me(await sign())).status).toBe(200);
  });

  it.each([
    ["a non-200", "500"],
    ["a body that is not JSON", "not-json"],
    ["a key set without keys", "no-keys"],
  ] as const)(
    "treats %s from the JWKS as an outage: 503 when the keys are needed, never 401",
    async (_what, broken) => {
      answer = broken;
      // A token with a kid the cached set lacks makes the service ask auth (after the cooldown).
      vi.setSystemTime(Date.now() + MINUTE);
      const unknownKid = await me(await signRotated());
      expect(isProblem(unknownKid, 503)).toBe(true);
      // The known key keeps working through the same broken answers, past the cache age too.
      vi.setSystemTime(Date.now() + 15 * MINUTE);
      expect((await me(await sign())).status).toBe(200);
      vi.setSystemTime(Date.now() + 60 * MINUTE);
      expect(isProblem(await me(await sign()), 503)).toBe(true);
    },
  );

  it("picks up a rotated key after the cooldown, and refuses a forged kid with 401", async () => {
    answer = "rotated";
    vi.setSystemTime(Date.now() + MINUTE);
    expect((await me(await signRotated())).status).toBe(200);
    const before = fetches;
    expect((await me(await sign("nobody"))).status).toBe(401);
    expect((await me(await sign("nobody"))).status).toBe(401);
    // Unknown kids within the cooldown do not reach auth.
    expect(fetches - before).toBe(0);
  });
});
