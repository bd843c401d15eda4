import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import express, { type Express } from "express";
import { describe, expect, it } from "vitest";
import {
  CLIENT_TYPES_FILE,
  OPENAPI_FILE,
  renderClientTypes,
  renderOpenApi,
} from "../../scripts/openapi/document.js";
import { analyticsRoutes } from "../../services/analytics/src/entry-points/http/analytics-routes.js";
import { authRoutes } from "../../services/auth/src/entry-points/http/auth-routes.js";
import { cartRoutes } from "../../services/cart/src/entry-points/http/cart-routes.js";
import {
  API_PREFIXES,
  NOTIFICATIONS_WS_PATH,
  resolveRoute,
} from "../../services/gateway/src/domain/routes.js";
import { openApiPath } from "../../services/gateway/src/openapi/document.js";
import { notificationRoutes } from "../../services/notification/src/entry-points/http/notification-routes.js";
import { orderRoutes } from "../../services/order/src/entry-points/http/order-routes.js";
import { productRoutes } from "../../services/product/src/entry-points/http/product-routes.js";
import { reservationRoutes } from "../../services/product/src/entry-points/http/reservation-routes.js";
import { OPENAPI_DOCUMENT } from "../support/contract.js";

const METHODS = ["get", "post", "put", "patch", "delete"];
// biome-ignore lint/suspicious/noExplicitAny: the document is JSON
type Json = any;
// biome-ignore lint/suspicious/noExplicitAny: registration reads no dependency; none is called
const unused = {} as any;

/** Each service's routes as its own code registers them, read from its Express router. */
function routesOf(register: (app: Express) => void): { method: string; path: string }[] {
  const app = express();
  register(app);
  // biome-ignore lint/suspicious/noExplicitAny: Express 5 keeps its layers untyped
  const stack = (app as any).router.stack as any[];
  return stack
    .filter((layer) => layer.route)
    .flatMap((layer) =>
      Object.keys(layer.route.methods)
        .filter((m) => METHODS.includes(m))
        .map((method) => ({ method, path: String(layer.route.path) })),
    );
}

const SERVICE_ROUTES: Record<string, { method: string; path: string }[]> = {
  auth: routesOf((app) => authRoutes(app, unused)),
  product: routesOf((app) => {
    productRoutes(app, unused);
    reservationRoutes(app, unused);
  }),
  cart: routesOf((app) => cartRoutes(app, unused)),
  order: routesOf(orderRoutes(unused)),
  notification: routesOf(notificationRoutes(unused)),
  analytics: routesOf(analyticsRoutes(unused)),
};

/** `GET /products/{id}` for every operation the document has. */
const documented = new Set(
  Object.entries(OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`),
  ),
);

describe("the OpenAPI document", () => {
  it("is the one the services' schemas generate now (run `npm run openapi` after changing them)", async () => {
    expect(readFileSync(OPENAPI_FILE, "utf8")).toBe(renderOpenApi());
    expect(readFileSync(CLIENT_TYPES_FILE, "utf8")).toBe(await renderClientTypes());
  });

  it("is valid OpenAPI 3.1", async () => {
    const validator = new Validator();
    const result = await validator.validate(OPENAPI_DOCUMENT);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("has every route the gateway sends to a service, and no other", () => {
    const routed = new Set<string>();
    for (const [service, routes] of Object.entries(SERVICE_ROUTES)) {
      for (const { method, path } of routes) {
        const route = resolveRoute(method, path);
        // `/internal/...` and probes are not reachable through the gateway.
        if (!route || route.upstream !== service || path.split("/").includes("internal")) continue;
        routed.add(`${method.toUpperCase()} ${openApiPath(path)}`);
      }
    }
    routed.add(`GET ${NOTIFICATIONS_WS_PATH.slice("/api".length)}`);
    expect([...documented].sort()).toEqual([...routed].sort());
  });

  it("routes no path prefix that the document does not describe", () => {
    const prefixes = new Set([...documented].map((op) => op.split(" ")[1]!.split("/")[1]));
    expect([...API_PREFIXES].sort()).toEqual([...prefixes].sort());
  });

  it("describes errors as problems, the rate-limit headers and the Idempotency-Key", () => {
    const checkout = OPENAPI_DOCUMENT.paths["/orders"].post;
    expect(checkout.parameters).toContainEqual(
      expect.objectContaining({ name: "Idempotency-Key", in: "header", required: true }),
    );
    for (const [path, item] of Object.entries(
      OPENAPI_DOCUMENT.paths as Record<string, Record<string, Json>>,
    )) {
      for (const method of METHODS.filter((m) => item[m])) {
        const responses = item[method].responses as Record<string, Json>;
        expect(Object.keys(responses), `${method} ${path}`).toContain("429");
        for (const [status, response] of Object.entries(responses)) {
          const resolved = response.$ref
            ? OPENAPI_DOCUMENT.components.responses[response.$ref.split("/").pop()]
            : response;
          expect(Object.keys(resolved.headers), `${method} ${path} ${status}`).toEqual(
            expect.arrayContaining(["RateLimit", "RateLimit-Policy", "X-Request-Id"]),
          );
          if (Number(status) >= 400) {
            expect(Object.keys(resolved.content), `${method} ${path} ${status}`).toEqual([
              "application/problem+json",
            ]);
          }
        }
      }
    }
  });
});
