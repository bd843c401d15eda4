import { problem, type ServiceApi } from "@shopstream/runtime";
import { z } from "zod";
import { changePasswordBody, loginBody, REGISTERED, refreshTokenBody, registerBody } from "./auth-routes.js";

export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(["customer", "admin"]),
});

/** A signed-in session: a 15-minute access token and a single-use refresh token. */
export const sessionSchema = z.object({
  user: userSchema,
  accessToken: z.string().describe("An Ed25519-signed JWT; send it as `Authorization: Bearer <token>`"),
  refreshToken: z.string().describe("Single use: `POST /auth/refresh` rotates it"),
});

const registeredSchema = z.object({ status: z.literal(REGISTERED.status), detail: z.string() });

const noStore = { "Cache-Control": { description: "`no-store`: sessions are credentials", required: true } };
const jsonOnly = problem("The body is not application/json");
const session = (description: string) => ({ description, schema: sessionSchema, headers: noStore });

export const authApi: ServiceApi = {
  service: "auth",
  description: "Accounts and sessions: register, sign in, refresh, sign out, change the password",
  schemas: { User: userSchema, Session: sessionSchema },
  operations: [
    {
      method: "post",
      path: "/auth/register",
      operationId: "register",
      summary: "Create an account",
      description:
        "The same answer whether the address was new or already had an account (its owner is told); no session comes back: sign in next.",
      tag: "auth",
      access: "public",
      body: { schema: registerBody, required: true },
      responses: {
        202: { description: "Accepted; sign in next", schema: registeredSchema, headers: noStore },
        415: jsonOnly,
        503: problem("Sessions are unavailable for a moment"),
      },
    },
    {
      method: "post",
      path: "/auth/login",
      operationId: "login",
      summary: "Sign in",
      description:
        "Throttled per address and account: over a limit, `429` with `Retry-After` and no password is checked.",
      tag: "auth",
      access: "public",
      body: { schema: loginBody, required: true },
      responses: {
        200: session("A new session"),
        401: problem("Wrong e-mail address or password"),
        415: jsonOnly,
        503: problem("Sessions are unavailable for a moment"),
      },
    },
    {
      method: "post",
      path: "/auth/password",
      operationId: "changePassword",
      summary: "Change the password",
      description: "Ends every session of the account and answers with a fresh one for this device.",
      tag: "auth",
      access: "user",
      body: { schema: changePasswordBody, required: true },
      responses: {
        200: session("A fresh session; every other one has ended"),
        403: problem("The current password is wrong"),
        415: jsonOnly,
        503: problem("Sessions are unavailable for a moment"),
      },
    },
    {
      method: "post",
      path: "/auth/refresh",
      operationId: "refresh",
      summary: "Swap a refresh token for a new session",
      description: "Refresh tokens are single use: presenting a spent one ends its whole sign-in.",
      tag: "auth",
      access: "public",
      body: { schema: refreshTokenBody, required: true },
      responses: {
        200: session("A new session (the refresh token rotated)"),
        401: problem("The refresh token is unknown, spent, expired or revoked"),
        415: jsonOnly,
        503: problem("Sessions are unavailable for a moment"),
      },
    },
    {
      method: "post",
      path: "/auth/logout",
      operationId: "logout",
      summary: "Sign out",
      description: "Revokes the sign-in the refresh token belongs to; works with an expired access token.",
      tag: "auth",
      access: "public",
      body: { schema: refreshTokenBody, required: true },
      responses: {
        204: { description: "Signed out" },
        415: jsonOnly,
        503: problem("Sessions are unavailable for a moment"),
      },
    },
    {
      method: "get",
      path: "/auth/me",
      operationId: "me",
      summary: "The signed-in user",
      tag: "auth",
      access: "user",
      responses: {
        200: { description: "The user", schema: z.object({ user: userSchema }), headers: noStore },
      },
    },
  ],
};
