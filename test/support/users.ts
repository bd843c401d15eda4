import { randomBytes } from "node:crypto";
import { api } from "./http.js";
import type { TestPlatform } from "./platform.js";

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: string;
}

export interface Session {
  user: SessionUser;
  accessToken: string;
  refreshToken: string;
}

export interface NewUser {
  email: string;
  password: string;
  name: string;
}

/** A distinct e-mail on every call, so tests never collide on the unique e-mail. */
export const uniqueEmail = (label = "user") => `${label}-${randomBytes(6).toString("hex")}@shopstream.test`;

async function session(
  url: string,
  body: Record<string, string>,
  expected: number,
  headers: Record<string, string> = {},
): Promise<Session> {
  const res = await api(url, { body, headers });
  if (res.status !== expected) {
    throw new Error(`POST ${url} answered ${res.status} (expected ${expected}): ${res.text}`);
  }
  return res.body as Session;
}

let clients = 0;
/**
 * An address of its own for each registered customer (198.18.0.0/15, the benchmarking range), as
 * the gateway passes it on: one customer's sign-in never counts against another's throttle.
 */
const ownAddress = () => {
  clients++;
  return { "x-forwarded-for": `198.18.${(clients >> 8) & 255}.${clients & 255}` };
};

/**
 * Registers a new customer through auth (`prefix = "/auth"`) or the gateway
 * (`prefix = "/api/auth"`) and signs them in, as the storefront does: registration answers 202
 * and no session, whether or not the address was new. The password comes back with the session.
 */
export async function registerUser(
  authOrGatewayBaseUrl: string,
  overrides: Partial<NewUser> = {},
  prefix = "/auth",
): Promise<Session & { password: string }> {
  const user: NewUser = {
    email: overrides.email ?? uniqueEmail(),
    password: overrides.password ?? `Pw-${randomBytes(9).toString("base64url")}`,
    name: overrides.name ?? "Test Customer",
  };
  const headers = ownAddress();
  const registered = await api(`${authOrGatewayBaseUrl}${prefix}/register`, { body: { ...user }, headers });
  if (registered.status !== 202) {
    throw new Error(
      `POST ${prefix}/register answered ${registered.status} (expected 202): ${registered.text}`,
    );
  }
  const created = await session(
    `${authOrGatewayBaseUrl}${prefix}/login`,
    { email: user.email, password: user.password },
    200,
    headers,
  );
  return { ...created, password: user.password };
}

export async function login(
  baseUrl: string,
  email: string,
  password: string,
  prefix = "/auth",
): Promise<Session> {
  return session(`${baseUrl}${prefix}/login`, { email, password }, 200);
}

/** Logs in as the platform's admin account (auth creates it at start). */
export async function adminSession(
  platform: TestPlatform,
  baseUrl: string = platform.url("auth"),
  prefix = "/auth",
): Promise<Session> {
  return login(baseUrl, platform.adminEmail, platform.adminPassword, prefix);
}
