import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { analyticsService } from "../../services/analytics/src/service.js";
import { authService } from "../../services/auth/src/service.js";
import { cartService } from "../../services/cart/src/service.js";
import { gatewayService } from "../../services/gateway/src/service.js";
import { notificationService } from "../../services/notification/src/service.js";
import { orderService } from "../../services/order/src/service.js";
import { paymentService } from "../../services/payment/src/service.js";
import { productService } from "../../services/product/src/service.js";
import { type ApiResponse, api } from "../support/http.js";
import { type AppName, startTestPlatform, type TestPlatform } from "../support/platform.js";
import { adminSession, registerUser } from "../support/users.js";

export interface Buyer {
  id: string;
  token: string;
}

export interface ShopOptions {
  label: string;
  /** Extra env per service over the model's. */
  env?: Partial<Record<AppName, Record<string, string>>>;
  /** Env applied to every service that talks to RabbitMQ (e.g. AMQP_URL of a proxy). */
  amqpEnv?: Record<string, string>;
  /** Every service's log lines, instead of stdout. */
  logs?: (service: AppName, line: string) => void;
}

const AMQP_SERVICES: AppName[] = ["product", "cart", "order", "payment", "notification", "analytics"];

/**
 * Fast relays and sweeps, so tests poll for seconds rather than wait for production timers;
 * limits a test file's few hundred requests from one address would otherwise hit.
 */
const TEST_ENV: Partial<Record<AppName, Record<string, string>>> = {
  order: { OUTBOX_INTERVAL_MS: "200", SWEEP_INTERVAL_MS: "1000" },
  payment: { OUTBOX_INTERVAL_MS: "200" },
  product: { SEED_DEMO_CATALOG: "false" },
  gateway: { RATE_LIMIT_PER_MINUTE: "100000", AUTH_RATE_LIMIT_PER_MINUTE: "100000" },
};

/**
 * The whole shop in this process, on this machine's MariaDB, Redis and RabbitMQ, used as a
 * browser uses it: every call goes through the gateway's `/api`.
 */
export async function startShop(options: ShopOptions) {
  const imagesDir = mkdtempSync(join(tmpdir(), "shopstream-images-"));
  const env: Partial<Record<AppName, Record<string, string>>> = {};
  const add = (name: AppName, values: Record<string, string> | undefined) => {
    env[name] = { ...env[name], ...values };
  };
  add("product", { IMAGES_DIR: imagesDir });
  for (const [name, values] of Object.entries(TEST_ENV)) add(name as AppName, values);
  for (const name of AMQP_SERVICES) add(name, options.amqpEnv);
  for (const [name, values] of Object.entries(options.env ?? {})) add(name as AppName, values);

  const platform: TestPlatform = await startTestPlatform({
    label: options.label,
    services: {
      auth: authService,
      product: productService,
      cart: cartService,
      order: orderService,
      payment: paymentService,
      notification: notificationService,
      analytics: analyticsService,
      gateway: gatewayService,
    },
    env,
    // The whole shop on the platform's own broker users: every publish, consume and retry of the
    // checkout runs under the permissions the targets give.
    brokerUsers: true,
    ...(options.logs ? { logs: options.logs } : {}),
  });
  const gateway = platform.url("gateway");
  const apiBase = `${gateway}/api`;
  const admin = await adminSession(platform, gateway, "/api/auth");
  let products = 0;

  const shop = {
    platform,
    apiBase,
    adminToken: admin.accessToken,
    call: (path: string, request: Parameters<typeof api>[1] = {}) => api(`${apiBase}${path}`, request),

    async newBuyer(): Promise<Buyer> {
      const session = await registerUser(gateway, {}, "/api/auth");
      return { id: session.user.id, token: session.accessToken };
    },

    async createProduct(input: { stock: number; priceCents?: number; name?: string }) {
      products++;
      const res = await shop.call("/products", {
        token: admin.accessToken,
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
      const res = await shop.call("/cart/items", { token: buyer.token, body: { productId, quantity } });
      if (res.status >= 300) throw new Error(`adding to the cart answered ${res.status}: ${res.text}`);
    },

    cart: (buyer: Buyer) => shop.call("/cart", { token: buyer.token }),

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
      rmSync(imagesDir, { recursive: true, force: true });
    },
  };
  return shop;
}

export type Shop = Awaited<ReturnType<typeof startShop>>;
