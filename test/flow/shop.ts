import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orderService } from "@shopstream/order/service";
import { paymentService } from "@shopstream/payment/service";
import { expect } from "vitest";
import { productService } from "../../services/product/src/service.js";
import { stubAuth, stubCartService } from "../order/stubs.js";
import { type ApiResponse, api } from "../support/http.js";
import { type AppName, startTestPlatform, type TestPlatform } from "../support/platform.js";

export interface Buyer {
  id: string;
  token: string;
}

export interface ShopOptions {
  label: string;
  /** Leave payment out (a test that runs it itself). */
  withoutPayment?: boolean;
  /** Extra env per service over the model's. */
  env?: Partial<Record<AppName, Record<string, string>>>;
  /** Env applied to every service that talks to RabbitMQ. */
  amqpEnv?: Record<string, string>;
}

const AMQP_SERVICES: AppName[] = ["product", "cart", "order", "payment", "notification", "analytics"];

/** Fast relays and sweeps, so tests poll for seconds rather than wait for production timers. */
const FAST: Partial<Record<AppName, Record<string, string>>> = {
  order: { OUTBOX_INTERVAL_MS: "200", SWEEP_INTERVAL_MS: "1000" },
  payment: { OUTBOX_INTERVAL_MS: "200" },
};

/**
 * The shop as a buyer meets it: auth, product, cart, order and payment on this machine's
 * MariaDB, Redis and RabbitMQ, with helpers for what a buyer and an admin do.
 */
export async function startShop(options: ShopOptions) {
  const auth = await stubAuth();
  const cart = await stubCartService();
  const imagesDir = mkdtempSync(join(tmpdir(), "shopstream-images-"));
  const env: Partial<Record<AppName, Record<string, string>>> = {};
  const add = (name: AppName, values: Record<string, string> | undefined) => {
    env[name] = { ...env[name], ...values };
  };
  add("product", { JWKS_URL: auth.jwksUrl, IMAGES_DIR: imagesDir, SEED_DEMO_CATALOG: "false" });
  add("order", { JWKS_URL: auth.jwksUrl, CART_URL: cart.url });
  for (const [name, values] of Object.entries(FAST)) add(name as AppName, values);
  for (const name of AMQP_SERVICES) add(name, options.amqpEnv);
  for (const [name, values] of Object.entries(options.env ?? {})) add(name as AppName, values);

  const platform: TestPlatform = await startTestPlatform({
    label: options.label,
    services: {
      product: productService,
      order: orderService,
      ...(options.withoutPayment ? {} : { payment: paymentService }),
    },
    env,
  });
  const adminToken = await auth.token(randomUUID(), "admin");
  const base = (path: string) => {
    if (path.startsWith("/products")) return `${platform.url("product")}${path}`;
    if (path.startsWith("/orders")) return `${platform.url("order")}${path}`;
    throw new Error(`no route for ${path}`);
  };
  let products = 0;

  const shop = {
    platform,
    adminToken,
    call: (path: string, request: Parameters<typeof api>[1] = {}) => api(base(path), request),

    async newBuyer(): Promise<Buyer> {
      const id = randomUUID();
      return { id, token: await auth.token(id) };
    },

    async createProduct(input: { stock: number; priceCents?: number; name?: string }) {
      products++;
      const res = await shop.call("/products", {
        token: adminToken,
        body: {
          sku: `FLOW-${randomUUID().slice(0, 8)}`,
          name: input.name ?? `Flow product ${products}`,
          description: "Made by a flow test",
          category: "Testing",
          priceCents: input.priceCents ?? 1000,
          stock: input.stock,
        },
      });
      if (res.status !== 201) throw new Error(`creating a product answered ${res.status}: ${res.text}`);
      return res.body as { id: string; name: string; priceCents: number; stock: number };
    },

    async stockOf(productId: string): Promise<number> {
      const res = await shop.call(`/products/${productId}`);
      return res.body.stock as number;
    },

    async addToCart(buyer: Buyer, productId: string, quantity: number) {
      const product = await shop.call(`/products/${productId}`);
      const lines = cart.carts.get(buyer.id) ?? [];
      cart.carts.set(buyer.id, [...lines, { productId, name: product.body.name, quantity }]);
    },

    checkout(buyer: Buyer, options: { key?: string; paymentToken?: string } = {}): Promise<ApiResponse> {
      return shop.call("/orders", {
        token: buyer.token,
        body: { paymentToken: options.paymentToken ?? "tok_visa" },
        headers: { "idempotency-key": options.key ?? randomUUID() },
      });
    },

    order: (buyer: Buyer, orderId: string) => shop.call(`/orders/${orderId}`, { token: buyer.token }),

    /** Polls until the order reaches `status` (or the timeout fails the test). */
    async waitForStatus(buyer: Buyer, orderId: string, status: string, timeout = 15_000) {
      await expect
        .poll(async () => (await shop.order(buyer, orderId)).body.status, { timeout, interval: 100 })
        .toBe(status);
    },

    async stop() {
      await platform.stop();
      await Promise.all([auth.stop(), cart.stop()]);
      rmSync(imagesDir, { recursive: true, force: true });
    },
  };
  return shop;
}

export type Shop = Awaited<ReturnType<typeof startShop>>;
