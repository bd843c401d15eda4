import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { undocumented } from "../support/event-contract.js";
import { amqpUrl } from "../support/infra.js";
import { type Shop, startShop } from "./shop.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

let shop: Shop;

beforeAll(async () => {
  shop = await startShop({ label: "consumer-failures" });
});

afterAll(async () => {
  await shop?.stop();
});

const count = async (owner: string, sql: string, params: unknown[] = []) =>
  Number((await shop.platform.db(owner).query<{ n: number }[]>(sql, params))[0]!.n);

/** Starts the payment service as its own process, to be killed like a crashed container. */
function spawnPayment(env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "services/payment/src/main.ts"],
    {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const lines: string[] = [];
  const waiters: { match: (line: string) => boolean; resolve: () => void }[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  }
  return {
    child,
    /** Resolves when the process logs a line containing every one of `parts`. */
    waitForLog(parts: string[], timeoutMs = 20_000) {
      const match = (line: string) => parts.every((p) => line.includes(p));
      if (lines.some(match)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`payment never logged ${parts.join(" + ")}:\n${lines.join("\n")}`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (hasExited(child) ? resolve() : child.once("exit", () => resolve())));

describe("a consumer that dies mid-message", () => {
  it("the payment is redelivered after a kill -9 and applied exactly once", { timeout: 60_000 }, async () => {
    const product = await shop.createProduct({ stock: 5, priceCents: 4200 });
    const buyer = await shop.newBuyer();
    await shop.addToCart(buyer, product.id, 1);

    await shop.platform.stopService("payment");
    const payment = spawnPayment({
      ...shop.platform.db("payment").env,
      ...shop.platform.broker.env,
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      PORT: "0",
      OUTBOX_INTERVAL_MS: "200",
      // Holds the payment's transaction open: the kill lands between the work and the commit.
      PAYMENT_TEST_DELAY_MS: "60000",
    });
    try {
      await payment.waitForLog(["payment listening"]);
      const created = await shop.checkout(buyer);
      expect(created.status).toBe(201);
      const orderId = created.body.id as string;
      await payment.waitForLog(["test delay: holding payment", orderId]);
      payment.child.kill("SIGKILL");
      await exited(payment.child);

      // The killed process committed nothing and acked nothing.
      expect(await count("payment", "SELECT COUNT(*) AS n FROM payments WHERE order_id = ?", [orderId])).toBe(
        0,
      );
      expect((await shop.order(buyer, orderId)).body.status).toBe("pending");

      await shop.platform.startService("payment");
      await shop.waitForStatus(buyer, orderId, "paid");
      expect(await count("payment", "SELECT COUNT(*) AS n FROM payments WHERE order_id = ?", [orderId])).toBe(
        1,
      );
      const like = [`%${orderId}%`];
      expect(await count("payment", "SELECT COUNT(*) AS n FROM outbox WHERE payload LIKE ?", like)).toBe(1);
      expect(
        await count(
          "order",
          "SELECT COUNT(*) AS n FROM order_status_history WHERE order_id = ? AND to_status = 'paid'",
          [orderId],
        ),
      ).toBe(1);
    } finally {
      if (!hasExited(payment.child)) payment.child.kill("SIGKILL");
      await exited(payment.child);
      if (!shop.platform.services.payment) await shop.platform.startService("payment");
    }
  });
});

describe("poison messages", () => {
  it("land in the consumer's dead-letter queue at once instead of looping, and the consumer carries on", async () => {
    const { exchange, queuePrefix } = shop.platform.broker;
    const conn = await amqplib.connect(amqpUrl());
    try {
      const ch = await conn.createConfirmChannel();
      const envelope = (type: string, data: unknown) =>
        Buffer.from(JSON.stringify({ id: randomUUID(), type, occurredAt: new Date().toISOString(), data }));
      const poison = {
        "payment.order-created": [
          Buffer.from("this is not JSON"),
          envelope("order.created", { orderId: 42, paymentToken: "tok_visa" }),
        ],
        "order.payment-events": [envelope("payment.completed", { orderId: randomUUID() })],
      };
      for (const m of poison["payment.order-created"])
        ch.publish(exchange, "order.created", m, { persistent: true, ...undocumented });
      for (const m of poison["order.payment-events"])
        ch.publish(exchange, "payment.completed", m, { persistent: true, ...undocumented });
      await ch.waitForConfirms();

      for (const [queue, messages] of Object.entries(poison)) {
        const dead: string[] = [];
        await expect
          .poll(
            async () => {
              const msg = await ch.get(`${queuePrefix}${queue}.dead`, { noAck: true });
              if (msg) dead.push(msg.content.toString());
              return dead.length;
            },
            { timeout: 5000 },
          )
          .toBe(messages.length);
        expect(dead.sort()).toEqual(messages.map((m) => m.toString()).sort());
        // Dead-lettered on the first delivery: nothing is waiting to be retried.
        expect((await ch.checkQueue(`${queuePrefix}${queue}.retry`)).messageCount).toBe(0);
      }
      await ch.close();
    } finally {
      await conn.close();
    }

    // The consumers are alive and well: a real order still goes through.
    const product = await shop.createProduct({ stock: 1 });
    const buyer = await shop.newBuyer();
    await shop.addToCart(buyer, product.id, 1);
    const created = await shop.checkout(buyer);
    await shop.waitForStatus(buyer, created.body.id, "paid");
  });
});
