/**
 * Service-to-service authentication for `/internal/*` routes.
 *
 * A caller signs one short-lived token per call with its own Ed25519 key (`SERVICE_TOKEN_KEY`):
 * issued by the caller, for one audience (the callee's name), bound to the call's method and
 * path, valid for a minute. The callee holds its allowed callers' public keys
 * (`INTERNAL_CALLER_KEYS`, from the platform model) and the model's list of which caller may use
 * which route (`INTERNAL_ROUTES`); the runtime checks both before any route of the service runs.
 * No call goes through a third party, so a checkout does not depend on the auth service, and a
 * callee that is broken into learns no key that lets it call anyone else.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RequestHandler } from "express";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { ConfigError, loadConfig } from "./config.js";
import { forbidden, HttpError } from "./errors.js";

/** The header a service token travels in (never `Authorization`, which may carry a user's token). */
export const SERVICE_TOKEN_HEADER = "x-service-token";
/** Explicit typing (RFC 8725): a user's access token can never pass for a service token. */
export const SERVICE_TOKEN_TYPE = "service+jwt";
/** How long a token is valid after it is signed. */
export const SERVICE_TOKEN_TTL_SECONDS = 60;
/** Clock difference between two hosts that is still accepted. */
const CLOCK_TOLERANCE_SECONDS = 5;

export interface InternalRoute {
  method: string;
  /** `:name` matches one path segment. */
  path: string;
  callers: string[];
}

export interface ServiceTokenSigner {
  /** A token for one call: `audience` is the callee's name, `url` the URL being called. */
  sign(audience: string, method: string, url: string): Promise<string>;
  /** The header carrying that token, to spread into a request's headers. */
  headers(audience: string, method: string, url: string): Promise<Record<string, string>>;
}

export function createServiceTokenSigner(
  issuer: string,
  privateKeyPem: string,
  ttlSeconds = SERVICE_TOKEN_TTL_SECONDS,
): ServiceTokenSigner {
  const key = ed25519Key(privateKeyPem, "private");
  const sign = (audience: string, method: string, url: string) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ htm: method.toUpperCase(), htu: new URL(url).pathname })
      .setProtectedHeader({ alg: "EdDSA", typ: SERVICE_TOKEN_TYPE, kid: issuer })
      .setIssuer(issuer)
      .setSubject(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign(key);
  };
  return {
    sign,
    headers: async (audience, method, url) => ({ [SERVICE_TOKEN_HEADER]: await sign(audience, method, url) }),
  };
}

function ed25519Key(pem: string, kind: "private" | "public"): KeyObject {
  let key: KeyObject;
  try {
    key = kind === "private" ? createPrivateKey(pem) : createPublicKey(pem);
  } catch {
    throw new ConfigError(`not an Ed25519 ${kind} key in PEM`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new ConfigError(`not an Ed25519 ${kind} key in PEM`);
  return key;
}

const routeSchema = z.array(
  z.strictObject({
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    path: z.string().regex(/^\/internal\/[A-Za-z0-9_\-/:.]*$/, "a path under /internal/"),
    callers: z.array(z.string().min(1)),
  }),
);

const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return undefined;
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "is not JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema.optional());

/** Read by the runtime itself for every service, whatever its own configuration schema. */
export const serviceTokenEnv = {
  /** This service's signing key (arrives as SERVICE_TOKEN_KEY_FILE); only callers have one. */
  SERVICE_TOKEN_KEY: z.string().min(1).optional(),
  /** Which caller may use which internal route (JSON, from the platform model). */
  INTERNAL_ROUTES: json(routeSchema),
  /** Each allowed caller's public key, as a path to its PEM file (JSON object). */
  INTERNAL_CALLER_KEYS: json(z.record(z.string().min(1), z.string().min(1))),
};

export interface ServiceTokenConfig {
  signer?: ServiceTokenSigner;
  routes: InternalRoute[];
  callerKeys: Record<string, KeyObject>;
}

/** The service-token part of a service's environment; a ConfigError names what is wrong. */
export function loadServiceTokenConfig(
  name: string,
  env: Record<string, string | undefined>,
): ServiceTokenConfig {
  const c = loadConfig(z.object(serviceTokenEnv), env);
  const callerKeys: Record<string, KeyObject> = {};
  for (const [caller, path] of Object.entries(c.INTERNAL_CALLER_KEYS ?? {})) {
    let pem: string;
    try {
      pem = readFileSync(path, "utf8");
    } catch (err) {
      throw new ConfigError(
        `INTERNAL_CALLER_KEYS: cannot read ${caller}'s key ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    callerKeys[caller] = ed25519Key(pem, "public");
  }
  const routes = c.INTERNAL_ROUTES ?? [];
  for (const caller of new Set(routes.flatMap((r) => r.callers))) {
    if (!callerKeys[caller]) throw new ConfigError(`INTERNAL_CALLER_KEYS has no key for ${caller}`);
  }
  return {
    ...(c.SERVICE_TOKEN_KEY ? { signer: createServiceTokenSigner(name, c.SERVICE_TOKEN_KEY) } : {}),
    routes,
    callerKeys,
  };
}

/** `/internal/reservations/:orderId/release` against a request path, segment by segment. */
export function routeMatches(pattern: string, path: string): boolean {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return false;
  return want.every((w, i) => (w.startsWith(":") ? (got[i] ?? "") !== "" : w === got[i]));
}

const unauthenticated = (detail: string) =>
  new HttpError(401, "Unauthorized", detail, {
    headers: { "WWW-Authenticate": 'Bearer realm="shopstream-internal"' },
  });

/**
 * Guards every `/internal/*` request of `service`: a valid service token for this audience,
 * method and path (401 otherwise), from a caller the model allows on this route (403 otherwise).
 * Deny by default: a route the model does not list answers 403 to everyone.
 */
export function internalGuard(
  service: string,
  config: Pick<ServiceTokenConfig, "routes" | "callerKeys">,
): RequestHandler {
  return async (req, res, next) => {
    const path = req.originalUrl.split("?")[0] ?? "";
    const token = req.get(SERVICE_TOKEN_HEADER);
    if (!token) return next(unauthenticated(`A service token (${SERVICE_TOKEN_HEADER}) is required`));
    let caller: string;
    try {
      const { payload, protectedHeader } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid ? config.callerKeys[header.kid] : undefined;
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key;
        },
        {
          algorithms: ["EdDSA"],
          typ: SERVICE_TOKEN_TYPE,
          audience: service,
          maxTokenAge: SERVICE_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ["iss", "exp", "iat", "htm", "htu"],
        },
      );
      // The key was chosen by `kid`: the issuer must be that key's owner.
      if (payload.iss !== protectedHeader.kid || payload.sub !== payload.iss) throw new Error("issuer");
      if (payload.htm !== req.method || payload.htu !== path) throw new Error("bound to another call");
      caller = String(payload.iss);
    } catch {
      return next(unauthenticated("The service token is invalid, expired, or meant for another call"));
    }
    const route = config.routes.find((r) => r.method === req.method && routeMatches(r.path, path));
    if (!route?.callers.includes(caller)) {
      return next(forbidden(`${caller} may not call ${req.method} ${path}`));
    }
    res.locals.caller = caller;
    next();
  };
}
