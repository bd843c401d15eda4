/**
 * What a shopper and the shop's admin do, against the containers: through the gateway's HTTP
 * API, the storefront container's page, and (when Chromium is installed) a real browser.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./docker.js";

interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the journey reads the JSON the API documents
  body: any;
  text: string;
}

async function call(
  url: string,
  init: {
    method?: string;
    token?: string;
    json?: unknown;
    body?: Buffer;
    headers?: Record<string, string>;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | Buffer | undefined = init.body;
  if (init.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, {
    method: init.method ?? (body ? "POST" : "GET"),
    headers,
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const buffer = Buffer.from(await res.arrayBuffer());
  const text = buffer.toString("utf8");
  const type = res.headers.get("content-type") ?? "";
  return {
    status: res.status,
    headers: res.headers,
    body: /json/.test(type) && text ? JSON.parse(text) : buffer,
    text,
  };
}

function expectStatus(what: string, res: Reply, ...statuses: number[]): void {
  if (!statuses.includes(res.status)) {
    throw new Error(
      `${what}: expected ${statuses.join(" or ")}, got ${res.status} ${res.text.slice(0, 300)}`,
    );
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(
    `${what} did not happen within ${timeoutMs / 1000} s${last ? ` (${(last as Error).message})` : ""}`,
  );
}

/** A 1×1 PNG, to store a product image on the product container's filesystem. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

export interface JourneyResult {
  productId: string;
  orderId: string;
  steps: { step: string; ms: number }[];
}

/**
 * The admin lists a product with an image; a new customer signs up, finds it, puts two in the
 * cart and checks out with tok_visa; the order turns paid, stock drops, the cart empties, the
 * customer is notified and analytics counts the paid order.
 */
export async function apiJourney(options: {
  gateway: string;
  analytics: string;
  admin: { email: string; password: string };
  runId: string;
}): Promise<JourneyResult> {
  const api = `${options.gateway}/api`;
  const steps: JourneyResult["steps"] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await fn();
    steps.push({ step: name, ms: Math.round(performance.now() - t0) });
    return value;
  };

  const adminToken = await step("admin signs in", async () => {
    const res = await call(`${api}/auth/login`, { json: options.admin });
    expectStatus("POST /api/auth/login (admin)", res, 200);
    return res.body.accessToken as string;
  });

  const category = `images-test-${options.runId}`;
  const product = await step("admin lists a product with an image", async () => {
    const created = await call(`${api}/products`, {
      token: adminToken,
      json: {
        sku: `IMGTEST-${options.runId}`.toUpperCase(),
        name: `Container lamp ${options.runId}`,
        description: "A lamp sold by the containers of images:test",
        category,
        priceCents: 1999,
        currency: "EUR",
        stock: 5,
      },
    });
    expectStatus("POST /api/products", created, 201);
    const id = created.body.id as string;
    const put = await call(`${api}/products/${id}/image`, {
      method: "PUT",
      token: adminToken,
      body: PNG,
      headers: { "content-type": "image/png" },
    });
    expectStatus("PUT /api/products/:id/image (stored under IMAGES_DIR)", put, 200, 201, 204);
    const image = await call(`${api}/products/${id}/image`);
    expectStatus("GET /api/products/:id/image", image, 200);
    if (!Buffer.isBuffer(image.body) || !image.body.equals(PNG))
      throw new Error("the stored image differs from the upload");
    return { id, name: created.body.name as string };
  });

  const customer = await step("customer signs up", async () => {
    const email = `buyer-${options.runId}-${randomUUID().slice(0, 8)}@images.test`;
    const password = "container-buyer-password-1";
    const registered = await call(`${api}/auth/register`, {
      json: { email, password, name: "Container Buyer" },
    });
    expectStatus("POST /api/auth/register", registered, 202);
    // Registration answers alike for a new and a taken address; the session comes from signing in.
    const res = await call(`${api}/auth/login`, { json: { email, password } });
    expectStatus("POST /api/auth/login", res, 200);
    const me = await call(`${api}/auth/me`, { token: res.body.accessToken });
    expectStatus("GET /api/auth/me", me, 200);
    const seen = me.body.email ?? me.body.user?.email;
    if (seen !== email) throw new Error(`GET /api/auth/me answered ${me.text.slice(0, 200)}`);
    return { token: res.body.accessToken as string };
  });

  await step("customer browses and searches", async () => {
    const listed = await call(`${api}/products?category=${encodeURIComponent(category)}`);
    expectStatus("GET /api/products?category=", listed, 200);
    if (!listed.body.items?.some((p: { id: string }) => p.id === product.id)) {
      throw new Error(`the new product is not listed in its category: ${listed.text.slice(0, 300)}`);
    }
    await until("finding the product by search", 15_000, async () => {
      const found = await call(`${api}/products?q=${encodeURIComponent(options.runId)}`);
      expectStatus("GET /api/products?q=", found, 200);
      return found.body.items?.some((p: { id: string }) => p.id === product.id) ? true : undefined;
    });
    const one = await call(`${api}/products/${product.id}`);
    expectStatus("GET /api/products/:id", one, 200);
    if (one.body.stock !== 5 || one.body.priceCents !== 1999)
      throw new Error(`unexpected product ${one.text}`);
  });

  await step("customer fills the cart", async () => {
    const add = await call(`${api}/cart/items`, {
      token: customer.token,
      json: { productId: product.id, quantity: 2 },
    });
    expectStatus("POST /api/cart/items", add, 200, 201);
    const cart = await call(`${api}/cart`, { token: customer.token });
    expectStatus("GET /api/cart", cart, 200);
    const line = cart.body.items?.find((i: { productId: string }) => i.productId === product.id);
    if (line?.quantity !== 2 || cart.body.totalCents !== 3998)
      throw new Error(`unexpected cart ${cart.text}`);
  });

  const orderId = await step("customer checks out (tok_visa)", async () => {
    const key = randomUUID();
    const order = await call(`${api}/orders`, {
      token: customer.token,
      headers: { "idempotency-key": key },
      json: { paymentToken: "tok_visa" },
    });
    expectStatus("POST /api/orders", order, 201);
    if (order.body.totalCents !== 3998) throw new Error(`unexpected order ${order.text}`);
    const retry = await call(`${api}/orders`, {
      token: customer.token,
      headers: { "idempotency-key": key },
      json: { paymentToken: "tok_visa" },
    });
    expectStatus("POST /api/orders (same Idempotency-Key)", retry, 200, 201);
    if (retry.body.id !== order.body.id)
      throw new Error("a retry with the same Idempotency-Key made another order");
    return order.body.id as string;
  });

  await step("the order is paid", () =>
    until("the order turning paid", 30_000, async () => {
      const res = await call(`${api}/orders/${orderId}`, { token: customer.token });
      expectStatus("GET /api/orders/:id", res, 200);
      if (res.body.status === "payment_failed" || res.body.status === "cancelled") {
        throw new Error(`the order turned ${res.body.status}`);
      }
      return res.body.status === "paid" ? true : undefined;
    }),
  );

  await step("stock, cart, notifications and analytics follow", async () => {
    const after = await call(`${api}/products/${product.id}`);
    if (after.body.stock !== 3) throw new Error(`stock is ${after.body.stock} after selling 2 of 5`);
    await until("the cart emptying after checkout", 15_000, async () => {
      const cart = await call(`${api}/cart`, { token: customer.token });
      return cart.body.items?.some((i: { productId: string }) => i.productId === product.id)
        ? undefined
        : true;
    });
    await until("a notification about the paid order", 15_000, async () => {
      const res = await call(`${api}/notifications`, { token: customer.token });
      expectStatus("GET /api/notifications", res, 200);
      return res.text.includes(orderId) && res.text.includes("paid") ? true : undefined;
    });
    await until("analytics counting a paid order", 15_000, async () => {
      const res = await call(`${options.analytics}/metrics`);
      const paid = /^shopstream_orders_total\{[^}]*status="paid"[^}]*\} (\d+)/m.exec(res.text);
      return paid && Number(paid[1]) >= 1 ? true : undefined;
    });
  });

  return { productId: product.id, orderId, steps };
}

/** GET / of the storefront container is the SPA's index.html, and the JS it names loads. */
export async function storefrontPage(origin: string): Promise<{ asset: string; bytes: number }> {
  const page = await call(`${origin}/`);
  expectStatus("GET / (storefront)", page, 200);
  if (!/text\/html/.test(page.headers.get("content-type") ?? "")) throw new Error("GET / is not HTML");
  const src = /<script[^>]+src="([^"]+\.js)"/.exec(page.text)?.[1];
  if (!src) throw new Error(`index.html names no script: ${page.text.slice(0, 300)}`);
  const asset = await call(new URL(src, `${origin}/`).toString());
  expectStatus(`GET ${src}`, asset, 200);
  if (!/javascript/.test(asset.headers.get("content-type") ?? "")) {
    throw new Error(`${src} is served as ${asset.headers.get("content-type")}`);
  }
  const deep = await call(`${origin}/some/client/route`);
  expectStatus("GET /some/client/route (SPA fallback)", deep, 200);
  return { asset: src, bytes: asset.text.length };
}

/**
 * In Chromium, through the edge stand-in: a new customer signs up, adds the first product to the
 * cart, pays with tok_visa and sees the order turn paid on its page (live over the WebSocket).
 */
export async function browserJourney(options: {
  edge: string;
  chromium: string;
  artifacts: string;
}): Promise<string> {
  const { chromium } = await import("playwright-core");
  mkdirSync(options.artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: options.chromium,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-sync",
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1024, height: 800 } });
  try {
    await page.goto(`${options.edge}/#/signup`);
    await page.getByTestId("auth-name").fill("Browser Buyer");
    await page.getByTestId("auth-email").fill(`browser-${randomUUID().slice(0, 8)}@images.test`);
    await page.getByTestId("auth-password").fill("container-browser-password-1");
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("sign-out").waitFor({ timeout: 15_000 });
    await page.goto(`${options.edge}/#/`);
    await page.getByTestId("product-card").first().waitFor({ timeout: 15_000 });
    await page.getByTestId("product-card").first().getByTestId("add-to-cart").click();
    await page.locator('[data-testid="cart-count"][data-count="1"]').waitFor({ timeout: 10_000 });
    await page.getByTestId("nav-cart").click();
    await page.getByTestId("cart-item").first().waitFor({ timeout: 10_000 });
    await page.getByTestId("payment-token").selectOption("tok_visa");
    await page.getByTestId("checkout-button").click();
    await page.getByTestId("order-detail").waitFor({ timeout: 15_000 });
    await page
      .locator('[data-testid="order-status"][data-status="paid"]')
      .first()
      .waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(options.artifacts, "storefront-order-paid.png"), fullPage: true });
    return (await page.getByTestId("order-detail").getAttribute("data-order-id")) ?? "";
  } catch (err) {
    await page
      .screenshot({ path: join(options.artifacts, "storefront-failure.png"), fullPage: true })
      .catch(() => {});
    throw err;
  } finally {
    await browser.close();
  }
}
