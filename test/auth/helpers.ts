import { Writable } from "node:stream";
import { authService } from "@shopstream/auth/service";
import { createLogger, type Logger, startService } from "@shopstream/runtime";
import { api } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";

/** The auth service alone, on this test file's own database and Redis prefix. */
export function startAuth(label: string, env: Record<string, string> = {}): Promise<TestPlatform> {
  return startTestPlatform({ label, services: { auth: authService }, env: { auth: env } });
}

/** The configuration the running auth service parsed (signing key, admin account, …). */
export function authConfig(platform: TestPlatform): Record<string, unknown> {
  return platform.services.auth!.config as Record<string, unknown>;
}

/** The running service's configuration as environment variables again, for another replica. */
export function replicaEnv(platform: TestPlatform, overrides: Record<string, string> = {}) {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(authConfig(platform))) {
    if (value !== undefined) env[key] = String(value);
  }
  return { ...env, ...overrides };
}

/** One more auth replica beside the platform's, on the same database and Redis. */
export function startReplica(
  platform: TestPlatform,
  options: { env?: Record<string, string>; logger?: Logger } = {},
) {
  return startService(authService, {
    env: replicaEnv(platform, options.env),
    port: 0,
    host: "127.0.0.1",
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

/** A replica whose log (every line at `level` and above) the test reads. */
export async function startLoggedReplica(platform: TestPlatform, level = "info") {
  const lines: string[] = [];
  const capture = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const replica = await startReplica(platform, { logger: createLogger("auth", level, capture) });
  return {
    replica,
    lines,
    /** The simulated e-mails to account owners, parsed. */
    emails: () =>
      lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.msg === "email sent"),
  };
}

export async function countUsers(platform: TestPlatform): Promise<number> {
  const [row] = await platform.db("auth").query<{ n: number }[]>("SELECT COUNT(*) AS n FROM users");
  return Number(row!.n);
}

let addresses = 0;
/**
 * A client address of its own (TEST-NET-3), passed the way the gateway passes it, so the
 * per-address sign-in throttle of one test does not reach into another.
 */
export function clientAddress(): Record<string, string> {
  addresses++;
  return { "x-forwarded-for": `203.0.113.${addresses}` };
}

export const post = (url: string, body: unknown, headers: Record<string, string> = {}, token?: string) =>
  api(url, { method: "POST", body, headers, ...(token ? { token } : {}) });
