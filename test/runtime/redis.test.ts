import { createLogger, createRedis, isStoreUnavailable, subscribeInBackground } from "@shopstream/runtime";
import { createClient } from "redis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTcpProxy } from "../flow/tcp-proxy.js";
import { TEST_INFRA, uniqueId } from "../support/infra.js";

// The runtime's Redis connections against a Redis that goes away in the two ways a bad night
// has: the connection cut (a restart, a network reset), or the server no longer answering
// while the connection stays open (a frozen process, a host gone from the network).

const target = new URL(TEST_INFRA.redisUrl);
const logs: string[] = [];
const logger = createLogger("redis-test", "info", {
  write: (line: string) => {
    logs.push(line);
  },
});
let admin: ReturnType<typeof createClient>;

beforeAll(async () => {
  admin = createClient({ url: TEST_INFRA.redisUrl });
  await admin.connect();
});

afterAll(async () => {
  await admin?.close();
});

const startProxy = () => startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });

it("a subscription whose SUBSCRIBE a cut connection lost is made again, and says so only once it is", async () => {
  const proxy = await startProxy();
  const channel = `test:${uniqueId("redis")}:changed`;
  let connections = 0;
  const received: string[] = [];
  const subscription = subscribeInBackground(
    { REDIS_URL: proxy.urlAs("redis"), REDIS_KEY_PREFIX: "" },
    logger,
    channel,
    {
      onMessage: (message) => received.push(message),
      onConnected: () => {
        connections++;
        // The first connection is ready; its SUBSCRIBE is about to be written: hold it, then cut.
        if (connections === 1) proxy.stall();
      },
    },
  );
  try {
    await expect.poll(() => connections).toBe(1);
    expect(subscription.isSubscribed()).toBe(false);
    proxy.cut();
    proxy.restore();
    proxy.resume();
    await expect.poll(() => connections, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => subscription.isSubscribed(), { timeout: 10_000 }).toBe(true);
    // Subscribed means the server delivers: one receiver, the message arrives.
    expect(await admin.publish(channel, "changed")).toBe(1);
    await expect.poll(() => received).toEqual(["changed"]);
  } finally {
    await subscription.close();
    await proxy.close();
  }
});

it("closes a connection whose server stopped answering, without waiting for its replies", async () => {
  const proxy = await startProxy();
  const redis = await createRedis({ REDIS_URL: proxy.urlAs("redis"), REDIS_KEY_PREFIX: "" }, logger);
  try {
    expect(await redis.client.ping()).toBe("PONG");
    proxy.stall();
    // Written, never answered: node-redis's command timeout covers only the wait to be written.
    const unanswered = redis.client.ping().catch((err: Error) => err);
    await redis.close();
    expect(await unanswered).toBeInstanceOf(Error);
    expect(redis.client.isOpen).toBe(false);
  } finally {
    await proxy.close();
  }
});

it("fails the commands of a connection whose server stopped answering within the reply bound, then connects again", async () => {
  const proxy = await startProxy();
  const redis = await createRedis({ REDIS_URL: proxy.urlAs("redis"), REDIS_KEY_PREFIX: "" }, logger, {
    replyTimeoutMs: 300,
  });
  try {
    expect(await redis.client.ping()).toBe("PONG");
    proxy.stall();
    // Written, never answered: without the bound it would wait as long as the connection lives.
    let outcome: "waiting" | "answered" | "failed" = "waiting";
    let failure: unknown;
    redis.client.get(`test:${uniqueId("redis")}`).then(
      () => {
        outcome = "answered";
      },
      (err: unknown) => {
        outcome = "failed";
        failure = err;
      },
    );
    await expect.poll(() => outcome, { timeout: 10_000 }).toBe("failed");
    expect(logs.some((l) => l.includes("redis stopped answering"))).toBe(true);
    // ... as a store away, which services answer 503 and consumers retry for long. node-redis's
    // error classes leave `name` at "Error": matched by name alone they were taken for bugs (500s,
    // and consumers dead-lettering after five quick attempts).
    expect((failure as Error).name).toBe("Error");
    expect(isStoreUnavailable(failure)).toBe(true);
    // While the server stays silent nothing waits on it: commands fail at once, the same way.
    const offline = await redis.client.get("x").catch((err: unknown) => err);
    expect(offline).toBeInstanceOf(Error);
    expect(isStoreUnavailable(offline)).toBe(true);
    // Once it answers again, a new connection serves.
    proxy.resume();
    await expect.poll(() => redis.client.isReady, { timeout: 10_000 }).toBe(true);
    expect(await redis.client.ping()).toBe("PONG");
  } finally {
    await redis.close();
    await proxy.close();
  }
});
