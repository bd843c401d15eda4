/**
 * Least privilege on the shared RabbitMQ and Redis, provisioned exactly as the local run
 * provisions a developer's stores (infra/src/local/provision.ts) under an isolation prefix of its
 * own: each service's broker user and Redis ACL user can do what its code needs and nothing of
 * another service's. The users, keys, exchanges and queues are this file's and removed after.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectBroker, createEvent, createLogger } from "@shopstream/runtime";
import amqp, { type ChannelModel } from "amqplib";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localEndpoints } from "../../infra/src/local/endpoints.js";
import {
  type LocalSecrets,
  localKeyPrefix,
  provisionBroker,
  provisionRedis,
  removeIsolatedBroker,
  writeLocalSecrets,
} from "../../infra/src/local/provision.js";
import {
  brokerNames,
  buildPlatform,
  localSettings,
  type RedisInstance,
  type Workload,
} from "../../infra/src/model/index.js";
import { redriveDeadLetters } from "../../services/runtime/src/redrive.js";
import { expectEveryBrokerUser, refusal } from "../support/broker-access.js";
import { amqpUrl, TEST_INFRA } from "../support/infra.js";

const isolation = `lp${randomBytes(3).toString("hex")}_`;
// The run's users, names and keys under its isolation prefix, as the model renders them.
const platform = buildPlatform(localSettings({ isolation }));
const names = brokerNames(platform.messaging, isolation);
const keyPrefix = localKeyPrefix(isolation);
const endpoints = localEndpoints({
  LOCAL_REDIS_HOST: new URL(TEST_INFRA.redisUrl).hostname,
  LOCAL_REDIS_PORT: new URL(TEST_INFRA.redisUrl).port || "6379",
  LOCAL_RABBITMQ_HOST: new URL(TEST_INFRA.amqpUrl).hostname,
  LOCAL_RABBITMQ_PORT: new URL(TEST_INFRA.amqpUrl).port || "5672",
  LOCAL_RABBITMQ_USER: TEST_INFRA.amqpUser,
  LOCAL_RABBITMQ_PASSWORD: TEST_INFRA.amqpPassword,
});
const stateDir = mkdtempSync(join(tmpdir(), "least-privilege-"));
const service = (name: string): Workload => platform.workloads.find((w) => w.name === name)!;
let secrets: LocalSecrets;

beforeAll(async () => {
  secrets = writeLocalSecrets(
    platform.workloads.filter((w) => w.local),
    stateDir,
    { SHOPSTREAM_ADMIN_PASSWORD: "Admin-password-for-tests-1" },
    platform.secrets,
  );
  await provisionBroker(platform, secrets, endpoints, isolation);
  await provisionRedis(platform, secrets, endpoints, isolation);
}, 60_000);

afterAll(async () => {
  await removeIsolatedBroker(platform, endpoints, isolation);
  const admin = createClient({ url: TEST_INFRA.redisUrl });
  await admin.connect();
  for (const access of platform.workloads.flatMap((w) => w.redis ?? []))
    await admin.sendCommand(["ACL", "DELUSER", access.user]);
  for await (const keys of admin.scanIterator({ MATCH: `${keyPrefix}*`, COUNT: 500 }))
    if (keys.length) await admin.del(keys);
  await admin.close();
  secrets?.remove();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

function brokerAs(w: Workload): Promise<ChannelModel> {
  const url = new URL(TEST_INFRA.amqpUrl);
  url.username = encodeURIComponent(w.broker!.user);
  url.password = encodeURIComponent(secrets.values[w.broker!.passwordSecret]!);
  return amqp.connect(url.toString());
}

/** A client as `w`'s user on `instance` (the one shared Redis plays both instances). */
function redisAs(w: Workload, instance: RedisInstance = "redis") {
  const access = w.redis!.find((r) => r.instance === instance)!;
  const client = createClient({
    url: TEST_INFRA.redisUrl,
    username: access.user,
    password: secrets.values[access.passwordSecret]!,
  });
  client.on("error", () => undefined);
  return client;
}

describe("each service's own broker user", () => {
  it("refuses analytics (it takes anonymous input) when it publishes payment.completed", async () => {
    const conn = await brokerAs(service("analytics"));
    conn.on("error", () => undefined);
    try {
      const why = await refusal(conn, (ch) =>
        ch.publish(
          names.exchange,
          "payment.completed",
          Buffer.from(JSON.stringify(createEvent("payment.completed", {}))),
        ),
      );
      expect(why).toMatch(/ACCESS_REFUSED/);
    } finally {
      await conn.close();
    }
  });

  it("lets every service do what it needs and nothing of another's", async () => {
    await expectEveryBrokerUser(platform, names, brokerAs);
  }, 60_000);

  it("re-drives a service's dead letters as that service's own user, once even when run twice", async () => {
    const w = service("payment");
    const queue = w.broker!.queues[0]!;
    const config = {
      AMQP_URL: TEST_INFRA.amqpUrl,
      AMQP_USER: w.broker!.user,
      AMQP_PASSWORD: secrets.values[w.broker!.passwordSecret]!,
      AMQP_VHOST: names.vhost,
      AMQP_EXCHANGE: names.exchange,
      AMQP_QUEUE_PREFIX: isolation,
    };
    const event = createEvent("order.created", { orderId: "dead-one" });
    const admin = await amqp.connect(amqpUrl());
    try {
      const ch = await admin.createConfirmChannel();
      await ch.purgeQueue(`${isolation}${queue}`);
      // As the runtime dead-letters it: through the DLX, with the attempts it used up.
      ch.publish(names.deadLetterExchange, `${isolation}${queue}`, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        headers: { "x-shopstream-attempt": 5 },
      });
      await ch.waitForConfirms();

      const first = await redriveDeadLetters(config, queue);
      const second = await redriveDeadLetters(config, queue);
      expect([first.moved, second.moved]).toEqual([1, 0]);
      let back: amqp.GetMessage | false = false;
      await expect
        .poll(async () => {
          back = await ch.get(`${isolation}${queue}`, { noAck: true });
          return back !== false;
        })
        .toBe(true);
      const msg = back as unknown as amqp.GetMessage;
      expect(JSON.parse(msg.content.toString()).id).toBe(event.id);
      // A fresh retry budget.
      expect(msg.properties.headers?.["x-shopstream-attempt"]).toBeUndefined();
      expect((await ch.checkQueue(`${isolation}${queue}.dead`)).messageCount).toBe(0);
      await ch.close();
    } finally {
      await admin.close();
    }
  }, 30_000);

  it("runs the runtime's consumer on it: a failed event is retried under its own name, then handled", async () => {
    const w = service("payment");
    const logger = createLogger("least-privilege", "silent");
    const config = {
      AMQP_URL: TEST_INFRA.amqpUrl,
      AMQP_USER: w.broker!.user,
      AMQP_PASSWORD: secrets.values[w.broker!.passwordSecret]!,
      AMQP_VHOST: names.vhost,
      AMQP_EXCHANGE: names.exchange,
      AMQP_QUEUE_PREFIX: isolation,
      AMQP_DECLARE_TOPOLOGY: false,
    };
    const consumer = connectBroker(config, logger);
    const attempts: number[] = [];
    const handled = new Promise<void>((resolve) => {
      void consumer.consume(
        w.broker!.queues[0]!,
        [],
        async (event) => {
          if (event.type !== "order.created") return;
          attempts.push(Date.now());
          if (attempts.length === 1) throw new Error("first attempt fails");
          resolve();
        },
        { backoffMs: [50] },
      );
    });
    const publisher = connectBroker(
      {
        ...config,
        AMQP_USER: service("order").broker!.user,
        AMQP_PASSWORD: secrets.values[service("order").broker!.passwordSecret]!,
      },
      logger,
    );
    try {
      await publisher.publish(createEvent("order.created", { orderId: "x" }));
      await handled;
      expect(attempts).toHaveLength(2);
    } finally {
      await publisher.close();
      await consumer.close();
    }
  }, 30_000);
});

describe("each service's own Redis user", () => {
  it("cannot read or write another service's keys, nor run what its code never sends", async () => {
    const cart = redisAs(service("cart"));
    const auth = redisAs(service("auth"));
    await cart.connect();
    await auth.connect();
    try {
      // Auth's refresh-token records: cart can neither plant one nor read one.
      const record = `${keyPrefix}refresh-token:${randomBytes(8).toString("hex")}`;
      await auth.hSet(record, { user: "admin", family: "f", spent: "0" });
      await expect(cart.hGet(record, "user")).rejects.toThrow(/NOPERM/);
      await expect(cart.hSet(`${keyPrefix}refresh-token:planted`, { user: "admin" })).rejects.toThrow(
        /NOPERM/,
      );
      await expect(
        cart.sendCommand(["EVAL", "return redis.call('GET', KEYS[1])", "1", record]),
      ).rejects.toThrow(/NOPERM|No permissions/);
      for (const command of [["FLUSHALL"], ["KEYS", "*"], ["CONFIG", "SET", "maxmemory", "1"], ["SCAN", "0"]])
        await expect(cart.sendCommand(command), command[0]).rejects.toThrow(/NOPERM/);
      // Its own keys, with its own commands, work.
      const own = `${keyPrefix}cart:${randomBytes(8).toString("hex")}`;
      await cart.hSet(own, "p", "1");
      expect(await cart.hGetAll(own)).toEqual({ p: "1" });
      // Keys outside its prefix (another run's, another environment's) are not its own either.
      await expect(cart.hGetAll(`shopstream:cart:${randomBytes(4).toString("hex")}`)).rejects.toThrow(
        /NOPERM/,
      );
    } finally {
      await cart.destroy();
      await auth.destroy();
    }
  });

  it("gives product, on the Redis that plays the cache instance too, the catalog and nothing of the carts", async () => {
    const product = redisAs(service("product"), "redis-cache");
    const cart = redisAs(service("cart"));
    await product.connect();
    await cart.connect();
    try {
      const own = `${keyPrefix}catalog:product:${randomBytes(8).toString("hex")}`;
      await product.set(own, "1", { EX: 60 });
      expect(await product.mGet([own])).toEqual(["1"]);
      const theirs = `${keyPrefix}cart:${randomBytes(8).toString("hex")}`;
      await cart.hSet(theirs, "p", "1");
      await expect(product.mGet([theirs])).rejects.toThrow(/NOPERM/);
      await expect(product.set(theirs, "x")).rejects.toThrow(/NOPERM/);
      // And the cart's user has nothing of the catalog's.
      await expect(cart.sendCommand(["EXISTS", own])).rejects.toThrow(/NOPERM/);
      // Product has no user on the main instance at all.
      expect(service("product").redis!.map((r) => r.instance)).toEqual(["redis-cache"]);
    } finally {
      await product.destroy();
      await cart.destroy();
    }
  });

  it("lets the gateway's cache user hear product's announcements and do nothing else", async () => {
    const gateway = redisAs(service("gateway"), "redis-cache");
    const product = redisAs(service("product"), "redis-cache");
    await gateway.connect();
    await product.connect();
    try {
      for (const command of [
        ["MGET", `${keyPrefix}catalog:version`],
        ["PUBLISH", `${keyPrefix}catalog:changed`, "x"],
        ["PING"],
      ])
        await expect(gateway.sendCommand(command), command[0]).rejects.toThrow(/NOPERM/);
      const heard: string[] = [];
      await gateway.subscribe(`${keyPrefix}catalog:changed`, (m) => heard.push(m));
      expect(await product.publish(`${keyPrefix}catalog:changed`, "changed")).toBe(1);
      await expect.poll(() => heard).toEqual(["changed"]);
    } finally {
      await gateway.destroy();
      await product.destroy();
    }
  });
});
