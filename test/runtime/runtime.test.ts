import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  amqpEnv,
  authenticate,
  ConfigError,
  claimEvent,
  commonEnv,
  connectBroker,
  createDb,
  createEvent,
  createLogger,
  createMetrics,
  createTokenVerifier,
  dbEnv,
  defineService,
  type EventEnvelope,
  enqueueEvent,
  loadConfig,
  migrate,
  notFound,
  outboxMigration,
  parse,
  processedEventsMigration,
  startOutboxRelay,
  startService,
  withTransaction,
} from "@shopstream/runtime";
import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { api, isProblem } from "../support/http.js";
import { amqpUrl, createTestDatabase, type TestDatabase, testBroker } from "../support/infra.js";

const silent = createLogger("test", process.env.TEST_LOG_LEVEL ?? "silent");

describe("config", () => {
  const schema = z.object({ ...commonEnv, ...dbEnv, PORT: z.coerce.number().int() });

  it("reads NAME_FILE into NAME, so secrets arrive as files", () => {
    const file = join(tmpdir(), `pw-${process.pid}`);
    writeFileSync(file, "s3cret\n");
    const config = loadConfig(schema, {
      DB_HOST: "h",
      DB_NAME: "n",
      DB_USER: "u",
      DB_PASSWORD_FILE: file,
      PORT: "1",
    });
    expect(config.DB_PASSWORD).toBe("s3cret");
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("names the missing or invalid variable and never echoes its value", () => {
    expect(() => loadConfig(schema, { DB_NAME: "n", DB_USER: "u", PORT: "1" })).toThrowError(
      new ConfigError("DB_HOST is missing"),
    );
    try {
      loadConfig(schema, { DB_HOST: "h", DB_NAME: "n", DB_USER: "u", PORT: "1", DB_PORT: "not-a-port" });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/^DB_PORT is invalid/);
      expect((err as Error).message).not.toContain("not-a-port");
    }
    expect(() =>
      loadConfig(schema, { DB_HOST: "h", DB_NAME: "n", DB_USER: "u", PORT: "1", DB_PASSWORD_FILE: "/nope" }),
    ).toThrow(/DB_PASSWORD_FILE: cannot read \/nope/);
  });
});

describe("HTTP service runtime", () => {
  const toy = defineService({
    name: "toy",
    configSchema: z.object({ ...commonEnv }),
    async create() {
      return {
        readiness: { always: async () => true },
        routes: (app) => {
          app.post("/things", (req, res) => {
            const body = parse(
              z.strictObject({ name: z.string().min(1), count: z.number().int() }),
              req.body,
            );
            res.status(201).json(body);
          });
          app.get("/things/:id", () => {
            throw notFound("No such thing");
          });
          app.get("/boom", () => {
            throw new Error("database password is hunter2");
          });
        },
      };
    },
  });
  let url = "";
  let stop: () => Promise<void>;
  beforeAll(async () => {
    const s = await startService(toy, { env: { LOG_LEVEL: "silent" }, port: 0, host: "127.0.0.1" });
    url = s.url;
    stop = s.stop;
  });
  afterAll(() => stop());

  it("answers bad input with a 400 problem+json naming each field", async () => {
    const res = await api(`${url}/things`, { body: { count: "3", extra: true } });
    expect(isProblem(res, 400)).toBe(true);
    const problem = res.body;
    expect(problem).toMatchObject({ status: 400, title: "Validation Failed" });
    expect(problem.errors.map((e: { path: string }) => e.path).sort()).toEqual(["", "count", "name"]);
  });

  it("answers malformed JSON with 400 and a huge body with 413", async () => {
    const bad = await fetch(`${url}/things`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { title: string }).title).toBe("Malformed JSON");
    const huge = await fetch(`${url}/things`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x".repeat(200_000), count: 1 }),
    });
    expect(huge.status).toBe(413);
  });

  it("hides internal errors behind a generic 500 and tags responses with a request id", async () => {
    const res = await api(`${url}/boom`, { headers: { "x-request-id": "req-123" } });
    expect(isProblem(res, 500)).toBe(true);
    expect(res.headers.get("x-request-id")).toBe("req-123");
    expect(res.text).not.toContain("hunter2");
    expect((await fetch(`${url}/things/1`)).status).toBe(404);
  });

  it("serves health, readiness and per-route metrics", async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(await (await fetch(`${url}/ready`)).json()).toMatchObject({ status: "ready" });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="\/things"[^}]*status_code="400"/,
    );
    expect(metrics).toContain("process_cpu_seconds_total");
  });
});

describe("messaging and the outbox", () => {
  let db: TestDatabase;
  const broker = testBroker("runtime");
  const config = loadConfig(z.object(amqpEnv), broker.env);

  beforeAll(async () => {
    db = await createTestDatabase("runtime");
  });
  afterAll(async () => {
    await db.drop();
    await broker.cleanup(["work"]);
  });

  it("retries a failing handler with backoff and dead-letters a poison message", async () => {
    const b = connectBroker(config, silent);
    const seen: string[] = [];
    let failures = 0;
    await b.consume(
      "work",
      ["thing.*"],
      async (event) => {
        seen.push(event.id);
        if (event.type === "thing.flaky" && failures++ < 2) throw new Error("transient");
        if (event.type === "thing.broken") throw new Error("always");
      },
      { maxAttempts: 3, backoffMs: [50, 100] },
    );
    const flaky = createEvent("thing.flaky", { n: 1 });
    const broken = createEvent("thing.broken", { n: 2 });
    await b.publish(flaky);
    await b.publish(broken);
    // A message that is not an envelope at all goes straight to the dead-letter queue.
    const raw = await amqplib.connect(amqpUrl());
    const ch = await raw.createConfirmChannel();
    ch.publish(broker.exchange, "thing.raw", Buffer.from("not json"));
    await ch.waitForConfirms();

    await expect.poll(() => seen.filter((id) => id === flaky.id).length, { timeout: 5000 }).toBe(3);
    await expect.poll(() => seen.filter((id) => id === broken.id).length, { timeout: 5000 }).toBe(3);
    const dead: string[] = [];
    await expect
      .poll(
        async () => {
          const msg = await ch.get(`${broker.queuePrefix}work.dead`, { noAck: true });
          if (msg) dead.push(msg.content.toString());
          return dead.length;
        },
        { timeout: 5000 },
      )
      .toBe(2);
    expect(dead.some((d) => d.includes(broken.id))).toBe(true);
    expect(dead).toContain("not json");
    await raw.close();
    await b.close();
  });

  it("publishes outbox rows after commit and a consumer claims each event once", async () => {
    const pool = createDb(loadConfig(z.object(dbEnv), db.env));
    await migrate(pool, [outboxMigration(1), processedEventsMigration(2)], silent);
    await migrate(pool, [outboxMigration(1), processedEventsMigration(2)], silent); // idempotent
    const b = connectBroker(config, silent);
    const received: EventEnvelope[] = [];
    await b.consume("work", ["order.*"], async (event) => {
      await withTransaction(pool, async (conn) => {
        if (await claimEvent(conn, "test", event.id)) received.push(event);
      });
    });
    const event = createEvent("order.created", { orderId: "o-1" });
    await withTransaction(pool, (conn) => enqueueEvent(conn, event));
    const relay = startOutboxRelay({
      db: pool,
      broker: b,
      logger: silent,
      metrics: createMetrics("t"),
      intervalMs: 100,
    });
    await expect.poll(() => received.length, { timeout: 5000 }).toBe(1);
    // The same event delivered again (a relay crash between publish and mark) is applied once.
    await b.publish(event);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.map((e) => e.id)).toEqual([event.id]);
    const [row] = await db.query<{ sent_at: Date | null }[]>("SELECT sent_at FROM outbox WHERE id = ?", [
      event.id,
    ]);
    expect(row?.sent_at).toBeInstanceOf(Date);
    await relay.stop();
    // After stop, a commit's kick publishes nothing: the row waits in the outbox for the next start.
    const late = createEvent("order.created", { orderId: "o-2" });
    await withTransaction(pool, (conn) => enqueueEvent(conn, late));
    relay.kick();
    await new Promise((r) => setTimeout(r, 300));
    const [pending] = await db.query<{ sent_at: Date | null }[]>("SELECT sent_at FROM outbox WHERE id = ?", [
      late.id,
    ]);
    expect(pending?.sent_at).toBeNull();
    expect(received.map((e) => e.id)).toEqual([event.id]);
    await b.close();
    await pool.end();
  });
});

describe("token verification", () => {
  it("answers 503, not 401, when the key set cannot be fetched, and 401 for a malformed token", async () => {
    const verifier = createTokenVerifier({
      jwksUrl: "http://127.0.0.1:1/jwks.json",
      issuer: "i",
      audience: "a",
    });
    const guarded = defineService({
      name: "guarded",
      configSchema: z.object({ ...commonEnv }),
      async create() {
        return {
          readiness: {},
          routes: (app) => app.get("/me", authenticate(verifier), (_req, res) => res.json({ ok: true })),
        };
      },
    });
    const s = await startService(guarded, { env: { LOG_LEVEL: "silent" }, port: 0, host: "127.0.0.1" });
    try {
      const header = Buffer.from(JSON.stringify({ alg: "EdDSA", kid: "k" })).toString("base64url");
      const body = Buffer.from(JSON.stringify({ sub: "u", role: "customer" })).toString("base64url");
      const wellFormed = `${header}.${body}.${Buffer.from("sig").toString("base64url")}`;
      expect(isProblem(await api(`${s.url}/me`, { token: wellFormed }), 503)).toBe(true);
      expect(isProblem(await api(`${s.url}/me`, { token: "not.a.jwt" }), 401)).toBe(true);
      expect(isProblem(await api(`${s.url}/me`), 401)).toBe(true);
    } finally {
      await s.stop();
    }
  });
});

describe("the version label (both sides of a canary release)", () => {
  it("is on every log line and every series when SERVICE_VERSION is set, and absent otherwise", async () => {
    const lines: string[] = [];
    const sink = { write: (line: string) => lines.push(line) };
    createLogger("toy", "info", sink, "2a9f0c1").info("hello");
    createLogger("toy", "info", sink, undefined).info("hello");
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: "toy", version: "2a9f0c1", msg: "hello" });
    expect(JSON.parse(lines[1]!)).not.toHaveProperty("version");
    const labelled = createMetrics("toy", "2a9f0c1");
    labelled.httpDuration.observe({ method: "GET", route: "/x", status_code: "200" }, 0.01);
    expect(await labelled.registry.metrics()).toContain('version="2a9f0c1"');
    const plain = createMetrics("toy");
    plain.httpDuration.observe({ method: "GET", route: "/x", status_code: "200" }, 0.01);
    expect(await plain.registry.metrics()).not.toMatch(/http_request_duration_seconds_count\{[^}]*version=/);
    expect(await labelled.registry.metrics()).toMatch(
      /http_request_duration_seconds_count\{[^}]*version="2a9f0c1"/,
    );
  });
});
