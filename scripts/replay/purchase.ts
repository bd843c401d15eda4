/**
 * One purchase through the platform's public API, as a shopper makes it: sign up, find a product
 * of the demo catalog in stock, put it in the cart, check out with `tok_visa`, and wait until the
 * order is paid and the stock has dropped. Used against the gateway container by the real-engine
 * replay and through the edge (Traefik, the Kubernetes ingress) by the e2e workflow:
 *
 *   node --import tsx scripts/replay/purchase.ts https://shopstream.localhost:8443
 */
import { randomUUID } from "node:crypto";

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the API's documented JSON
  body: any;
  text: string;
}

async function call(
  url: string,
  init: { token?: string; json?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url, {
    method: init.json !== undefined ? "POST" : "GET",
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  const reply: Reply = {
    status: res.status,
    text,
    body: /json/.test(res.headers.get("content-type") ?? "") && text ? JSON.parse(text) : text,
  };
  return reply;
}

function expect(what: string, res: Reply, ...ok: number[]): void {
  if (!ok.includes(res.status)) throw new Error(`${what}: ${res.status} ${res.text.slice(0, 300)}`);
}

/** Polls until `probe` returns a value; an upper bound only. */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function purchase(origin: string): Promise<{ orderId: string; productId: string }> {
  const api = `${origin.replace(/\/+$/, "")}/api`;
  const email = `buyer-${randomUUID().slice(0, 12)}@replay.test`;
  const password = "replay-buyer-password-1";
  const registered = await call(`${api}/auth/register`, { json: { email, password, name: "Replay Buyer" } });
  expect("POST /api/auth/register", registered, 202);
  // Registration answers alike for a new and a taken address; the session comes from signing in.
  const signedIn = await call(`${api}/auth/login`, { json: { email, password } });
  expect("POST /api/auth/login", signedIn, 200);
  const token = signedIn.body.accessToken as string;

  const listed = await until("the demo catalog", 60_000, async () => {
    const res = await call(`${api}/products?limit=50`);
    expect("GET /api/products", res, 200);
    const items = (res.body.items ?? []) as { id: string; stock: number; priceCents: number }[];
    return items.find((p) => p.stock > 0);
  });
  const stockBefore = listed.stock;

  expect(
    "POST /api/cart/items",
    await call(`${api}/cart/items`, { token, json: { productId: listed.id, quantity: 1 } }),
    200,
    201,
  );
  const order = await call(`${api}/orders`, {
    token,
    headers: { "idempotency-key": randomUUID() },
    json: { paymentToken: "tok_visa" },
  });
  expect("POST /api/orders", order, 201);
  const orderId = order.body.id as string;

  await until("the order turning paid", 60_000, async () => {
    const res = await call(`${api}/orders/${orderId}`, { token });
    expect("GET /api/orders/:id", res, 200);
    if (res.body.status === "payment_failed" || res.body.status === "cancelled")
      throw new Error(`the order turned ${res.body.status}`);
    return res.body.status === "paid" ? true : undefined;
  });
  const after = await call(`${api}/products/${listed.id}`);
  expect("GET /api/products/:id", after, 200);
  if (after.body.stock !== stockBefore - 1)
    throw new Error(`stock went from ${stockBefore} to ${after.body.stock} after selling one`);
  return { orderId, productId: listed.id };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const origin = process.argv[2];
  if (!origin) {
    process.stderr.write("usage: purchase.ts <origin, e.g. https://shopstream.localhost:8443>\n");
    process.exit(2);
  }
  purchase(origin).then(
    (r) => process.stdout.write(`purchase: order ${r.orderId} paid, stock of ${r.productId} down by one\n`),
    (err: Error) => {
      const cause = err.cause as { code?: string; message?: string } | undefined;
      process.stderr.write(
        `purchase failed: ${err.message}${cause ? ` (${cause.code ?? cause.message})` : ""}\n`,
      );
      process.exit(1);
    },
  );
}
