/**
 * The public API's routing table (docs/service-contracts.md): which service answers a path under
 * `/api`, whether it needs a signed-in user, how large its body may be and which rate-limit
 * bucket it draws from. Pure: no HTTP objects, so the rules read (and are tested) as data.
 */

export const UPSTREAMS = ["auth", "product", "cart", "order", "notification", "analytics"] as const;
export type Upstream = (typeof UPSTREAMS)[number];

export type Access = "public" | "user";
export type BodyKind = "json" | "upload";
export type Bucket = "api" | "auth";

export interface RoutePolicy {
  upstream: Upstream;
  access: Access;
  body: BodyKind;
  /** Extra buckets beyond the `api` one every request draws from. */
  buckets: Bucket[];
  /**
   * Which upstream timeout applies: `checkout` (POST /orders) waits for the order service's whole
   * worst case (its key and lease waits and its calls to cart and product), `default` for the rest.
   */
  timeout: RouteTimeout;
}

export type RouteTimeout = "default" | "checkout";

/** The first path segment under `/api` and the service it belongs to. */
const PREFIXES: Record<string, Upstream> = {
  auth: "auth",
  products: "product",
  cart: "cart",
  orders: "order",
  notifications: "notification",
  analytics: "analytics",
};

/** The first path segments the gateway routes. */
export const API_PREFIXES = Object.keys(PREFIXES);

/**
 * Auth paths that act on the signed-in user; the rest are public: register, login, refresh, and
 * logout, which the refresh token itself authorises (its access token may have expired already).
 */
const AUTH_USER_PATHS = new Set(["/auth/me", "/auth/password"]);
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const IMAGE_UPLOAD = /^\/products\/[^/]+\/image\/?$/;

export type PathVerdict =
  | { ok: true; segments: string[] }
  | { ok: false; reason: "not-canonical" | "internal" };

/**
 * Rejects what could reach a path the table does not show: dot segments, encoded slashes or
 * backslashes (an upstream may decode them), and any `internal` segment, which is for
 * service-to-service calls only, however it is spelled or encoded.
 */
export function checkPath(path: string): PathVerdict {
  if (/%2f|%5c|\\/i.test(path)) return { ok: false, reason: "not-canonical" };
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return { ok: false, reason: "not-canonical" };
  }
  const segments = decoded.split("/").slice(1);
  if (segments.some((s) => s === "." || s === "..")) return { ok: false, reason: "not-canonical" };
  if (segments.some((s) => s.trim().toLowerCase() === "internal")) return { ok: false, reason: "internal" };
  return { ok: true, segments };
}

/** The policy of a path relative to `/api` (e.g. `/cart/items`), or undefined when no service has it. */
export function resolveRoute(method: string, path: string): RoutePolicy | undefined {
  const first = path.split("/")[1] ?? "";
  const upstream = PREFIXES[first];
  if (!upstream) return undefined;
  const upper = method.toUpperCase();
  const body: BodyKind =
    upstream === "product" && upper === "PUT" && IMAGE_UPLOAD.test(path) ? "upload" : "json";
  switch (upstream) {
    case "auth":
      return {
        upstream,
        access: AUTH_USER_PATHS.has(path.replace(/\/+$/, "")) ? "user" : "public",
        body,
        buckets: ["auth"],
        timeout: "default",
      };
    case "product":
      // Browsing is public; any change needs a user (the product service checks the admin role).
      return {
        upstream,
        access: SAFE_METHODS.has(upper) ? "public" : "user",
        body,
        buckets: [],
        timeout: "default",
      };
    case "analytics":
      return { upstream, access: "public", body, buckets: [], timeout: "default" };
    case "order":
      return {
        upstream,
        access: "user",
        body,
        buckets: [],
        timeout: upper === "POST" && /^\/orders\/?$/.test(path) ? "checkout" : "default",
      };
    default:
      return { upstream, access: "user", body, buckets: [], timeout: "default" };
  }
}

/** The WebSocket path of the notification service, as the public sees it. */
export const NOTIFICATIONS_WS_PATH = "/api/notifications/ws";
