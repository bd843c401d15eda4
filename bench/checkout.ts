/**
 * The checkout load, shared by `bench/run.ts` and `bench/profile.ts`: buyers signed in
 * beforehand, then each in a loop of cart add + `POST /api/orders` with a fresh Idempotency-Key,
 * then a check that the stock used equals the units ordered (no oversell).
 */
import { randomUUID } from "node:crypto";

export async function json(url: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.body) headers.set("content-type", "application/json");
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `work` for each item, at most `limit` at once. */
async function inBatches<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

/**
 * Registers and signs in `count` buyers. This is set-up, not the measured load: each takes two
 * argon2 jobs (about 0.1–0.3 s of a core each), and auth runs at most one job per core, so all
 * fifty at once queued for longer than the gateway waits for auth (10 s) on a busy machine.
 * A few at a time keeps every sign-in well inside that, and the time is not counted.
 */
export async function signInBuyers(api: string, count: number, concurrency = 4): Promise<string[]> {
  return inBatches(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      const credentials = {
        email: `bench-${i}-${randomUUID()}@shopstream.test`,
        password: "bench-password-1",
      };
      const r = await json(`${api}/auth/register`, {
        method: "POST",
        body: JSON.stringify({ ...credentials, name: "Bench" }),
      });
      if (r.status !== 202)
        throw new Error(`could not register a buyer: ${r.status} ${JSON.stringify(r.body)}`);
      // Registration answers alike for a new and a taken address; the session comes from signing in.
      const signedIn = await json(`${api}/auth/login`, { method: "POST", body: JSON.stringify(credentials) });
      if (signedIn.status !== 200)
        throw new Error(`could not sign a buyer in: ${signedIn.status} ${JSON.stringify(signedIn.body)}`);
      return signedIn.body.accessToken as string;
    },
  );
}

export interface CheckoutResult {
  ordersPerSecond: number;
  orders: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers of 400 or more, to the cart add or the checkout. */
  errors: number;
  errorsByStatus: Record<string, number>;
  oversold: boolean;
  stockUsed: number;
  unitsOrdered: number;
}

/** `buyers` (their access tokens), each in a loop: put one item in the cart, check out. */
export async function checkouts(
  api: string,
  adminToken: string,
  buyers: string[],
  durationS: number,
): Promise<CheckoutResult> {
  const initialStock = 1_000_000;
  const product = await json(`${api}/products`, {
    method: "POST",
    token: adminToken,
    body: JSON.stringify({
      sku: `BENCH-${randomUUID().slice(0, 8)}`,
      name: "Benchmark widget",
      description: "A product only the benchmark buys",
      category: "benchmark",
      priceCents: 100,
      currency: "EUR",
      stock: initialStock,
    }),
  });
  if (product.status !== 201) throw new Error(`could not create the bench product: ${product.status}`);
  const productId: string = product.body.id;
  const latencies: number[] = [];
  const errorsByStatus: Record<string, number> = {};
  let errors = 0;
  let orders = 0;
  const deadline = Date.now() + durationS * 1000;
  const started = Date.now();
  await Promise.all(
    buyers.map(async (token) => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        const add = await json(`${api}/cart/items`, {
          method: "POST",
          token,
          body: JSON.stringify({ productId, quantity: 1 }),
        });
        const order = await json(`${api}/orders`, {
          method: "POST",
          token,
          headers: { "idempotency-key": randomUUID() },
          body: JSON.stringify({ paymentToken: "tok_visa" }),
        });
        latencies.push(performance.now() - t0);
        for (const r of [add, order]) {
          if (r.status >= 400) {
            errors++;
            errorsByStatus[r.status] = (errorsByStatus[r.status] ?? 0) + 1;
          }
        }
        if (order.status === 201) orders++;
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  // Read the stock once the platform has caught up (the gateway may be shedding load briefly).
  let after = await json(`${api}/products/${productId}`);
  for (let i = 0; i < 50 && after.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 200));
    after = await json(`${api}/products/${productId}`);
  }
  if (after.status !== 200) throw new Error(`could not read the bench product's stock: ${after.status}`);
  const stockUsed = initialStock - Number(after.body.stock);
  // A buyer's next cart add can land before order.created has emptied the cart, so an order may
  // hold more than one unit: compare the stock with the units in every order of this product.
  let unitsOrdered = 0;
  for (let page = 1; ; page++) {
    const list = await json(`${api}/orders?limit=100&page=${page}`, { token: adminToken });
    const items = (list.body?.items ?? []) as {
      status: string;
      items: { productId: string; quantity: number }[];
    }[];
    for (const o of items) {
      if (o.status === "payment_failed" || o.status === "cancelled") continue;
      for (const line of o.items) if (line.productId === productId) unitsOrdered += line.quantity;
    }
    if (items.length < 100) break;
  }
  latencies.sort((a, b) => a - b);
  return {
    ordersPerSecond: Math.round((orders / seconds) * 10) / 10,
    orders,
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    errors,
    errorsByStatus,
    oversold: Number(after.body.stock) < 0 || stockUsed !== unitsOrdered,
    stockUsed,
    unitsOrdered,
  };
}
