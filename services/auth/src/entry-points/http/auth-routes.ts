import {
  authenticate,
  bearerToken,
  currentUser,
  HttpError,
  parse,
  type TokenVerifier,
} from "@shopstream/runtime";
import type { Express, Request, RequestHandler, Response } from "express";
import { z } from "zod";
import type { AccessTokens } from "../../domain/access-tokens.js";
import type { Accounts, Session } from "../../domain/accounts.js";
import { emailSchema, nameSchema, PASSWORD_MAX, passwordSchema } from "../../domain/user.js";

export const registerBody = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  name: nameSchema,
});
// A login is checked against the password as it was set: only an absurd length is refused here.
export const loginBody = z.strictObject({
  email: emailSchema,
  password: z.string().min(1, "is required").max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`),
});
export const changePasswordBody = z.strictObject({
  currentPassword: loginBody.shape.password,
  newPassword: passwordSchema,
});
export const refreshTokenBody = z.strictObject({
  refreshToken: z.string().min(1, "is required").max(512, "is not a refresh token"),
});

/** A body in another format than JSON is a 415; an empty one is left to validation (a 400). */
const requireJson: RequestHandler = (req, _res, next) => {
  const hasContent = Number(req.get("content-length") ?? 0) > 0 || req.get("transfer-encoding") !== undefined;
  if (hasContent && !req.is("application/json")) {
    return next(new HttpError(415, "Unsupported Media Type", "Send the body as application/json"));
  }
  next();
};

export const REGISTERED = {
  status: "accepted",
  detail:
    "Sign in with this e-mail address and password. If the address already had an account, nothing changed and its owner has been told.",
};

/** req.ip: the runtime trusts X-Forwarded-For from private-range proxies (the gateway) only. */
const clientAddress = (req: Request) => req.ip ?? req.socket.remoteAddress ?? "unknown";

/** Sessions carry credentials: no cache may keep them (RFC 6749 section 5.1). */
const sendSession = (res: Response, status: number, session: Session) => {
  res.status(status).set("Cache-Control", "no-store").json(session);
};

export function authRoutes(
  app: Express,
  deps: { accounts: Accounts; tokens: AccessTokens; verifier: TokenVerifier },
): void {
  const { accounts } = deps;

  app.get("/.well-known/jwks.json", (_req, res) => {
    res.set("Cache-Control", "public, max-age=300").json(deps.tokens.jwks);
  });

  // The same answer whether the address was new or taken (then its owner is told): sign in next.
  app.post("/auth/register", requireJson, async (req, res) => {
    await accounts.register(parse(registerBody, req.body));
    res.status(202).set("Cache-Control", "no-store").json(REGISTERED);
  });

  app.post("/auth/login", requireJson, async (req, res) => {
    sendSession(res, 200, await accounts.login(parse(loginBody, req.body), clientAddress(req)));
  });

  app.post("/auth/password", authenticate(deps.verifier), requireJson, async (req, res) => {
    const body = parse(changePasswordBody, req.body);
    sendSession(res, 200, await accounts.changePassword(currentUser(res).id, body, clientAddress(req)));
  });

  app.post("/auth/refresh", requireJson, async (req, res) => {
    sendSession(res, 200, await accounts.refresh(parse(refreshTokenBody, req.body).refreshToken));
  });

  app.post("/auth/logout", requireJson, async (req, res) => {
    const { refreshToken } = parse(refreshTokenBody, req.body);
    await accounts.logout(refreshToken, bearerToken(req.get("authorization")));
    res.status(204).end();
  });

  app.get("/auth/me", authenticate(deps.verifier), async (_req, res) => {
    res.set("Cache-Control", "no-store").json({ user: await accounts.me(currentUser(res).id) });
  });
}
