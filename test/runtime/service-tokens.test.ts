/**
 * The runtime's guard of `/internal/*`: a service started with the model's INTERNAL_ROUTES and its
 * callers' public keys admits exactly the allowed caller, on a token signed for this audience,
 * method and path, and nothing else, before any route of the service runs.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  commonEnv,
  createServiceTokenSigner,
  defineService,
  type RunningService,
  SERVICE_TOKEN_HEADER,
  startService,
} from "@shopstream/runtime";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { api, isProblem } from "../support/http.js";

const dir = mkdtempSync(join(tmpdir(), "service-tokens-"));
const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    private: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    public: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
};
const order = pair();
const gateway = pair();
const stranger = pair();

let calls = 0;
const stock = defineService({
  name: "stock",
  configSchema: z.object({ ...commonEnv }),
  async create() {
    return {
      readiness: {},
      routes: (app) => {
        app.post("/internal/reserve/:id", (_req, res) => {
          calls++;
          res.json({ ok: true, caller: res.locals.caller });
        });
        app.get("/internal/peek", (_req, res) => {
          calls++;
          res.json({ ok: true });
        });
        app.get("/internal/unlisted", (_req, res) => {
          calls++;
          res.json({ ok: true });
        });
      },
    };
  },
});

let service: RunningService<unknown>;
let base = "";

beforeAll(async () => {
  writeFileSync(join(dir, "order.pub"), order.public);
  writeFileSync(join(dir, "gateway.pub"), gateway.public);
  service = await startService(stock, {
    env: {
      LOG_LEVEL: "silent",
      INTERNAL_ROUTES: JSON.stringify([
        { method: "POST", path: "/internal/reserve/:id", callers: ["order"] },
        { method: "GET", path: "/internal/peek", callers: ["order", "gateway"] },
      ]),
      INTERNAL_CALLER_KEYS: JSON.stringify({
        order: join(dir, "order.pub"),
        gateway: join(dir, "gateway.pub"),
      }),
    },
    port: 0,
    host: "127.0.0.1",
  });
  base = service.url;
});
afterAll(async () => {
  await service?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const as = (caller: string, key: string) => createServiceTokenSigner(caller, key);
const call = (method: string, path: string, headers: Record<string, string> = {}) =>
  api(`${base}${path}`, { method, headers, ...(method === "POST" ? { body: {} } : {}) });

describe("internal routes", () => {
  it("admit the caller the model allows, on a token for this service, method and path", async () => {
    const path = "/internal/reserve/42";
    const res = await call(
      "POST",
      path,
      await as("order", order.private).headers("stock", "POST", `${base}${path}`),
    );
    expect(res.status).toBe(200);
    expect(res.body.caller).toBe("order");
  });

  it("answer 401 without a token, with a forged, expired or other-audience token, or one for another call", async () => {
    const before = calls;
    const path = "/internal/reserve/42";
    const url = `${base}${path}`;
    const signer = as("order", order.private);
    const refused = async (headers: Record<string, string>, why: string) =>
      expect(isProblem(await call("POST", path, headers), 401), why).toBe(true);
    await refused({}, "no token");
    await refused(await signer.headers("cart", "POST", url), "another audience");
    await refused(await signer.headers("stock", "GET", url), "another method");
    await refused(await signer.headers("stock", "POST", `${base}/internal/reserve/43`), "another path");
    // Signed by a key the service does not know, under a caller's name.
    await refused(await as("order", stranger.private).headers("stock", "POST", url), "forged");
    const expired = await new SignJWT({ htm: "POST", htu: path })
      .setProtectedHeader({ alg: "EdDSA", typ: "service+jwt", kid: "order" })
      .setIssuer("order")
      .setSubject("order")
      .setAudience("stock")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 540)
      .sign((await import("node:crypto")).createPrivateKey(order.private));
    await refused({ [SERVICE_TOKEN_HEADER]: expired }, "expired");
    const untyped = await new SignJWT({ htm: "POST", htu: path })
      .setProtectedHeader({ alg: "EdDSA", kid: "order" })
      .setIssuer("order")
      .setSubject("order")
      .setAudience("stock")
      .setIssuedAt()
      .setExpirationTime("1m")
      .sign((await import("node:crypto")).createPrivateKey(order.private));
    await refused({ [SERVICE_TOKEN_HEADER]: untyped }, "a user-style token (no service typ)");
    const unsigned = `${Buffer.from('{"alg":"none","typ":"service+jwt","kid":"order"}').toString("base64url")}.${Buffer.from(
      JSON.stringify({ iss: "order", sub: "order", aud: "stock", htm: "POST", htu: path }),
    ).toString("base64url")}.`;
    await refused({ [SERVICE_TOKEN_HEADER]: unsigned }, "alg none");
    expect(calls).toBe(before);
  });

  it("answer 403 to a known caller on a route the model does not give it, and on unlisted routes", async () => {
    const before = calls;
    const path = "/internal/reserve/42";
    const byGateway = await as("gateway", gateway.private).headers("stock", "POST", `${base}${path}`);
    expect(isProblem(await call("POST", path, byGateway), 403)).toBe(true);
    const unlisted = await as("order", order.private).headers("stock", "GET", `${base}/internal/unlisted`);
    expect(isProblem(await call("GET", "/internal/unlisted", unlisted), 403)).toBe(true);
    expect(calls).toBe(before);
    const peek = await as("gateway", gateway.private).headers("stock", "GET", `${base}/internal/peek`);
    expect((await call("GET", "/internal/peek", peek)).status).toBe(200);
  });

  it("are closed to everyone in a service the model gives no internal routes", async () => {
    const closed = await startService(stock, { env: { LOG_LEVEL: "silent" }, port: 0, host: "127.0.0.1" });
    try {
      const path = "/internal/peek";
      const res = await api(`${closed.url}${path}`, {
        headers: await as("order", order.private).headers("stock", "GET", `${closed.url}${path}`),
      });
      expect(res.status).toBe(401);
    } finally {
      await closed.stop();
    }
  });
});
