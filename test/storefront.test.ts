// The storefront as its users and operators meet it: the production build (what a browser downloads),
// the nginx config that serves it, and the client logic that keeps a person signed in and makes
// checkout safe to retry.
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createLogger } from "@shopstream/runtime";
import express from "express";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STOREFRONT_CSP, storefrontRoutes } from "../services/gateway/src/entry-points/http/storefront.js";
import { ApiError, createApiClient, type SessionStore } from "../services/storefront/src/api-client.js";
import {
  attemptFingerprint,
  attemptKey,
  type KeyValueStorage,
  settleAttempt,
} from "../services/storefront/src/checkout-attempt.js";
import { remember, withPushedStatus } from "../services/storefront/src/order-status.js";
import type { Cart, Order, Session } from "../services/storefront/src/types.js";

const storefront = fileURLToPath(new URL("../services/storefront/", import.meta.url));

/** What a first visit may download, gzipped: all JS and CSS of the build. README states the same. */
const GZIP_BUDGET_BYTES = 40 * 1024;

describe("the storefront production build", () => {
  let outDir = "";
  let indexHtml = "";

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), "storefront-build-"));
    await build({
      root: storefront,
      configFile: join(storefront, "vite.config.ts"),
      logLevel: "silent",
      build: { outDir, emptyOutDir: true },
    });
    indexHtml = await readFile(join(outDir, "index.html"), "utf8");
  }, 60_000);

  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  async function assetFiles(extension: string): Promise<string[]> {
    const names = await readdir(join(outDir, "assets"));
    return names.filter((name) => name.endsWith(extension)).map((name) => join(outDir, "assets", name));
  }

  it("index.html loads content-hashed JS and CSS that exist in the build, not the sources", () => {
    const script = indexHtml.match(/<script[^>]+type="module"[^>]+src="([^"]+)"/)?.[1];
    const style = indexHtml.match(/<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"/)?.[1];
    expect(script).toMatch(/^\/assets\/[\w-]+-[\w-]{8}\.js$/);
    expect(style).toMatch(/^\/assets\/[\w-]+-[\w-]{8}\.css$/);
    expect(existsSync(join(outDir, script ?? "missing"))).toBe(true);
    expect(existsSync(join(outDir, style ?? "missing"))).toBe(true);
    expect(indexHtml).not.toContain("/src/");
    expect(indexHtml).toContain('<html lang="en">');
    expect(indexHtml).toContain('name="viewport"');
  });

  it("needs nothing the strict Content-Security-Policy forbids: no inline script or style, no data: URL", () => {
    const scripts = [...indexHtml.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/assets\//);
      expect(body!.trim()).toBe("");
    }
    expect(indexHtml).not.toMatch(/<style\b/i);
    expect(indexHtml).not.toMatch(/\sstyle=/i);
    expect(indexHtml).not.toMatch(/\son[a-z]+=/i);
    expect(indexHtml).not.toMatch(/javascript:/i);
    expect(indexHtml).not.toMatch(/data:/i);
    // Every resource the page loads comes from its own origin.
    for (const [, url] of indexHtml.matchAll(/\s(?:src|href)="([^"]+)"/g)) expect(url).toMatch(/^\/(?!\/)/);
    for (const [, url] of indexHtml.matchAll(/\s(?:src|href)="([^"]+)"/g)) {
      expect(existsSync(join(outDir, url!)), url).toBe(true);
    }
  });

  it(`keeps the JS and CSS a first visit downloads under ${GZIP_BUDGET_BYTES / 1024} kB gzipped`, async () => {
    const files = [...(await assetFiles(".js")), ...(await assetFiles(".css"))];
    expect(files.length).toBeGreaterThanOrEqual(2);
    let gzipped = 0;
    for (const file of files) gzipped += gzipSync(await readFile(file), { level: 9 }).length;
    expect(gzipped).toBeLessThan(GZIP_BUDGET_BYTES);
  });

  it("renders with Preact's JSX runtime, not React's", async () => {
    const js = (await Promise.all((await assetFiles(".js")).map((file) => readFile(file, "utf8")))).join("");
    expect(js).not.toMatch(/from\s*["']react/);
    expect(js).not.toContain("React.createElement");
  });

  it("never puts a token in a URL: the WebSocket offers it as the bearer subprotocol", async () => {
    const js = (await Promise.all((await assetFiles(".js")).map((file) => readFile(file, "utf8")))).join("");
    expect(js).not.toContain("access_token");
    expect(js).toMatch(/new WebSocket\([^;]*\/api\/notifications\/ws["'`]\),\s*\[\s*["'`]bearer["'`]/);
  });

  it("carries every data-testid that the README promises to browser tests", async () => {
    const readme = await readFile(join(storefront, "README.md"), "utf8");
    const section = readme.split(/^## /m).find((part) => part.startsWith("data-testid")) ?? "";
    const promised = [...section.matchAll(/^\|\s*`([a-z0-9-]+)`\s*\|/gm)].map((match) => match[1]);
    expect(promised).toContain("add-to-cart");
    expect(promised).toContain("checkout-button");
    const js = (await Promise.all((await assetFiles(".js")).map((file) => readFile(file, "utf8")))).join("");
    // The minifier may quote a string with ", ' or `.
    const missing = promised.filter((testId) => !new RegExp(`["'\`]${testId}["'\`]`).test(js));
    expect(missing).toEqual([]);
  });
});

describe("the storefront's nginx", () => {
  const conf = () => readFile(join(storefront, "nginx.conf"), "utf8");

  it("listens on 8081 as a non-root user can (pid and temp files under /tmp)", async () => {
    const text = await conf();
    expect(text).toMatch(/^\s*listen\s+8081\b/m);
    expect(text).toMatch(/^\s*pid\s+\/tmp\/nginx\.pid;/m);
    for (const temp of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
      expect(text).toMatch(new RegExp(`^\\s*${temp}_temp_path\\s+/tmp/`, "m"));
    }
    expect(text).not.toMatch(/^\s*include\s/m);
  });

  it("answers unknown paths with the app (SPA fallback) and /healthz with 200", async () => {
    const text = await conf();
    expect(text).toMatch(/location\s+\/\s*\{[^}]*try_files\s+\$uri\s+\$uri\/\s+\/index\.html;/);
    expect(text).toMatch(/location\s+=\s+\/healthz\s*\{[^}]*return\s+200\b/);
  });

  it("caches hashed assets for a year and always revalidates index.html", async () => {
    const text = await conf();
    expect(text).toMatch(/location\s+\/assets\/\s*\{[^}]*max-age=31536000, immutable/);
    expect(text).toMatch(/location\s+=\s+\/index\.html\s*\{[^}]*Cache-Control "no-cache"/);
    expect(text).toMatch(/^\s*gzip\s+on;/m);
  });

  it("logs paths and referers without their query strings", async () => {
    const text = await conf();
    const format = text.match(/log_format\s+json[^;]*;/)?.[0] ?? "";
    expect(format).toContain('"path":"$uri"');
    // Every variable that carries a query string stays out of the log line.
    for (const variable of [
      /\$request\b/,
      /\$request_uri/,
      /\$args/,
      /\$query_string/,
      /\$http_referer/,
      /\$arg_/,
    ]) {
      expect(format).not.toMatch(variable);
    }
    expect(format).toContain('"referer":"$referer_without_query"');
    expect(text).toMatch(/map\s+\$http_referer\s+\$referer_without_query\s*\{[^}]*\?/);
  });

  it("sends the strict Content-Security-Policy with every page, the same as the local run's", async () => {
    const text = await conf();
    const pages = [/location\s+=\s+\/index\.html\s*\{[^}]*\}/, /location\s+\/\s*\{[^}]*\}/];
    for (const page of pages) {
      const block = text.match(page)?.[0] ?? "";
      expect(block).toContain(`add_header Content-Security-Policy "${STOREFRONT_CSP}" always;`);
    }
  });

  it("is the config the image runs, as user 101 on port 8081", async () => {
    const dockerfile = await readFile(join(storefront, "Dockerfile"), "utf8");
    expect(dockerfile).toContain("COPY services/storefront/nginx.conf /etc/nginx/nginx.conf");
    expect(dockerfile).toMatch(/^USER 101$/m);
    expect(dockerfile).toMatch(/^EXPOSE 8081$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
  });
});

describe("the storefront's Content-Security-Policy", () => {
  it("allows scripts, styles, images and connections from the shop's own origin only", () => {
    const directives = Object.fromEntries(
      STOREFRONT_CSP.split(";").map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(" ")];
      }),
    );
    expect(directives).toMatchObject({
      "default-src": "'none'",
      "script-src": "'self'",
      "style-src": "'self'",
      "img-src": "'self'",
      // The API (/api) and its WebSocket (/api/notifications/ws) are on the shop's origin.
      "connect-src": "'self'",
      "base-uri": "'none'",
      "form-action": "'self'",
      "frame-ancestors": "'none'",
      "object-src": "'none'",
    });
    expect(STOREFRONT_CSP).not.toMatch(/unsafe-|\*|data:|https?:/);
  });

  it("is what the gateway sends with every page when it serves the storefront (npm run dev)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "storefront-csp-"));
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>ShopStream</title>");
    await writeFile(join(dir, "assets", "index-Ab12Cd34.js"), "console.log('shop')");
    const app = express();
    storefrontRoutes(app, dir, createLogger("gateway", "silent"));
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const path of ["/", "/index.html", "/cart", "/orders/123"]) {
        const page = await fetch(`${base}${path}`, { headers: { accept: "text/html" } });
        expect(page.status, path).toBe(200);
        expect(page.headers.get("content-security-policy"), path).toBe(STOREFRONT_CSP);
      }
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// --- Client logic, with a scripted fetch --------------------------------------------------------------

const user = { id: "u1", email: "ann@example.com", name: "Ann", role: "customer" as const };

function memorySession(initial: Session | null): SessionStore & { cleared: number } {
  let session = initial;
  return {
    cleared: 0,
    get: () => session,
    set(next) {
      session = next;
    },
    clear() {
      session = null;
      this.cleared++;
    },
  };
}

function jsonResponse(status: number, body: unknown, type = "application/json"): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

describe("staying signed in", () => {
  it("when the access token has expired, concurrent requests share one refresh and are retried", async () => {
    const session = memorySession({ user, accessToken: "old", refreshToken: "r1" });
    const seen: string[] = [];
    let refreshes = 0;
    const client = createApiClient({
      baseUrl: "/api",
      session,
      fetch: async (input, init) => {
        const url = String(input);
        const auth = new Headers(init?.headers).get("Authorization");
        seen.push(`${url} ${auth ?? "-"}`);
        if (url === "/api/auth/refresh") {
          refreshes++;
          await new Promise((resolve) => setTimeout(resolve, 5));
          return jsonResponse(200, { user, accessToken: "new", refreshToken: "r2" });
        }
        if (auth !== "Bearer new") return jsonResponse(401, { title: "Unauthorized", status: 401 });
        return jsonResponse(200, { url });
      },
    });

    const answers = await Promise.all([client.request("/cart"), client.request("/orders")]);

    expect(answers).toEqual([{ url: "/api/cart" }, { url: "/api/orders" }]);
    // A refresh token is single-use: spending it twice would revoke the whole family.
    expect(refreshes).toBe(1);
    expect(session.get()).toMatchObject({ accessToken: "new", refreshToken: "r2" });
    expect(seen.filter((line) => line.endsWith("Bearer new"))).toHaveLength(2);
  });

  it("when the refresh token is refused, the person is signed out and told why", async () => {
    const session = memorySession({ user, accessToken: "old", refreshToken: "revoked" });
    const client = createApiClient({
      baseUrl: "/api",
      session,
      fetch: async () =>
        jsonResponse(401, { title: "Unauthorized", status: 401 }, "application/problem+json"),
    });

    const failure = await client.request("/orders").catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).status).toBe(401);
    expect((failure as ApiError).detail).toMatch(/sign in again/);
    expect(session.get()).toBeNull();
  });

  it("a server error during refresh keeps the person signed in", async () => {
    const session = memorySession({ user, accessToken: "old", refreshToken: "r1" });
    const client = createApiClient({
      baseUrl: "/api",
      session,
      fetch: async (input) =>
        String(input).endsWith("/refresh")
          ? jsonResponse(503, { title: "Unavailable", status: 503 })
          : jsonResponse(401, { title: "Unauthorized", status: 401 }),
    });

    await expect(client.request("/orders")).rejects.toMatchObject({ status: 503 });
    expect(session.get()).not.toBeNull();
  });

  it("shows the problem's detail and puts field errors next to their fields", async () => {
    const client = createApiClient({
      baseUrl: "/api",
      session: memorySession(null),
      fetch: async () =>
        jsonResponse(
          400,
          {
            type: "https://shopstream.dev/problems/validation",
            title: "Bad Request",
            status: 400,
            detail: "The product has invalid fields.",
            errors: [
              { path: "/priceCents", message: "must be an integer" },
              { path: "body.name", message: "is required" },
            ],
          },
          "application/problem+json",
        ),
    });

    const failure = (await client.request("/products", { body: {} }).catch((error) => error)) as ApiError;

    expect(failure.detail).toBe("The product has invalid fields.");
    expect(failure.fieldErrors()).toEqual({ priceCents: "must be an integer", name: "is required" });
  });

  it("a network failure reads as a connection problem, not a crash", async () => {
    const client = createApiClient({
      baseUrl: "/api",
      session: memorySession(null),
      fetch: async () => {
        throw new TypeError("Failed to fetch");
      },
    });
    await expect(client.request("/products")).rejects.toMatchObject({ status: 0, title: "Network error" });
  });
});

describe("checkout retries", () => {
  function memoryStorage(): KeyValueStorage {
    const values = new Map<string, string>();
    return {
      getItem: (key) => values.get(key) ?? null,
      setItem: (key, value) => void values.set(key, value),
      removeItem: (key) => void values.delete(key),
    };
  }
  const cart: Cart = {
    currency: "EUR",
    totalCents: 2500,
    items: [
      {
        productId: "p1",
        name: "Mug",
        unitPriceCents: 1250,
        quantity: 2,
        lineTotalCents: 2500,
        available: true,
        currency: "EUR",
        stock: 5,
        imageUrl: null,
      },
    ],
  };
  let ids = 0;
  const makeId = () => `key-${++ids}`;

  it("retrying the same cart with the same card sends the same Idempotency-Key", () => {
    const storage = memoryStorage();
    const first = attemptKey(storage, attemptFingerprint(cart, "tok_visa"), makeId);
    const retry = attemptKey(storage, attemptFingerprint(cart, "tok_visa"), makeId);
    expect(retry).toBe(first);
  });

  it("another card, another cart, or a settled attempt starts a new attempt with a new key", () => {
    const storage = memoryStorage();
    const first = attemptKey(storage, attemptFingerprint(cart, "tok_visa"), makeId);
    const otherCard = attemptKey(storage, attemptFingerprint(cart, "tok_chargeDeclined"), makeId);
    const firstItem = cart.items[0]!;
    const otherCart = attemptKey(
      storage,
      attemptFingerprint({ ...cart, items: [{ ...firstItem, quantity: 3 }] }, "tok_chargeDeclined"),
      makeId,
    );
    settleAttempt(storage);
    const afterSettling = attemptKey(
      storage,
      attemptFingerprint({ ...cart, items: [{ ...firstItem, quantity: 3 }] }, "tok_chargeDeclined"),
      makeId,
    );
    expect(new Set([first, otherCard, otherCart, afterSettling]).size).toBe(4);
  });
});

describe("the catalog's sort menu", () => {
  it("offers only sort orders the product service accepts", async () => {
    const { PRODUCT_SORTS } = await import("../services/product/src/domain/product.js");
    const source = await readFile(
      new URL("../services/storefront/src/pages/Catalog.tsx", import.meta.url),
      "utf8",
    );
    const block = /export const SORTS[^=]*=\s*\[([\s\S]*?)\];/.exec(source)?.[1] ?? "";
    const offered = [...block.matchAll(/\["([a-z_]*)",/g)].map((m) => m[1]).filter(Boolean);
    expect(offered.length).toBeGreaterThanOrEqual(3);
    for (const sort of offered) expect(PRODUCT_SORTS as readonly string[]).toContain(sort);
  });
});

describe("an order's status on screen", () => {
  const order = (status: Order["status"]): Order => ({
    id: "o-1",
    userId: "u-1",
    status,
    totalCents: 100,
    currency: "EUR",
    items: [],
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
  });

  it("takes a status pushed before the order loaded, and a fetch answered before the push cannot undo it", () => {
    const known = remember(new Map(), "o-1", { status: "paid", at: "2026-01-01T00:00:01.000Z" });
    // The order page's fetch was answered before the payment: it still says pending.
    expect(withPushedStatus(order("pending"), known)).toMatchObject({
      status: "paid",
      updatedAt: "2026-01-01T00:00:01.000Z",
    });
    // A later fetch that is further along wins over the older push.
    expect(withPushedStatus(order("shipped"), known).status).toBe("shipped");
    // Pushes arriving out of order never move an order back.
    const later = remember(known, "o-1", { status: "shipped", at: "2026-01-01T00:00:03.000Z" });
    expect(
      remember(later, "o-1", { status: "paid", at: "2026-01-01T00:00:01.000Z" }).get("o-1")?.status,
    ).toBe("shipped");
    expect(withPushedStatus({ ...order("pending"), id: "o-2" }, known).status).toBe("pending");
  });
});
