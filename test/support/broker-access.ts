/**
 * What a service's broker user may and may not do, tried on a real broker: the generated
 * definitions on a throwaway node (test/infra/config-programs.test.ts) and the local run's
 * provisioning on the shared one (test/infra/least-privilege.test.ts) answer the same questions.
 */
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { expect } from "vitest";
import type { BrokerNames, Platform, Workload } from "../../infra/src/model/index.js";

/** Runs `action` on a channel of its own and resolves with the broker's refusal (the channel closes). */
export async function refusal(conn: ChannelModel, action: (ch: ConfirmChannel) => unknown): Promise<string> {
  const ch = await conn.createConfirmChannel();
  return new Promise<string>((resolve, reject) => {
    ch.once("error", (err: Error) => resolve(err.message));
    Promise.resolve()
      .then(() => action(ch))
      .then(() => ch.waitForConfirms())
      .then(() => ch.close())
      .then(
        () => reject(new Error("the broker allowed it")),
        () => undefined,
      );
  });
}

/** Runs `action` on a channel of its own and expects the broker to allow it (publishes confirmed). */
export async function allowed(conn: ChannelModel, action: (ch: ConfirmChannel) => unknown): Promise<void> {
  const ch = await conn.createConfirmChannel();
  const failed = new Promise<never>((_, reject) => ch.once("error", reject));
  await Promise.race([
    (async () => {
      await action(ch);
      await ch.waitForConfirms();
    })(),
    failed,
  ]);
  await ch.close();
}

const body = Buffer.from(JSON.stringify({ id: "x", type: "access-check", occurredAt: "", data: {} }));

/** `expectBrokerAccess` for every service with a broker user, each on its own connection. */
export async function expectEveryBrokerUser(
  platform: Platform,
  names: BrokerNames,
  connectAs: (w: Workload) => Promise<ChannelModel>,
): Promise<void> {
  const services = platform.workloads.filter((w) => w.broker);
  expect(services.length).toBeGreaterThan(0);
  for (const w of services) {
    const conn = await connectAs(w);
    conn.on("error", () => undefined);
    try {
      await expectBrokerAccess(conn, w, platform, names);
    } finally {
      await conn.close();
    }
  }
}

/**
 * `w`'s user, connected as `conn`: publishes its own routing keys and no other service's, parks
 * retries under its own queues only, reaches no queue through the default or dead-letter
 * exchange, reads its own queues (and their dead letters) and no other's, and declares or deletes
 * nothing.
 */
export async function expectBrokerAccess(
  conn: ChannelModel,
  w: Workload,
  platform: Platform,
  names: BrokerNames,
): Promise<void> {
  const access = w.broker;
  if (!access) throw new Error(`${w.name} has no broker user`);
  const denied = /ACCESS_REFUSED|403/;
  const queue = (q: string) => `${names.queuePrefix}${q}`;
  for (const key of access.publishes)
    await allowed(conn, (ch) => ch.publish(names.exchange, key, body, { persistent: false }));
  const foreign = Object.entries(platform.messaging.publishers)
    .filter(([service]) => service !== w.name)
    .flatMap(([, keys]) => keys);
  for (const key of foreign) {
    const why = await refusal(conn, (ch) => ch.publish(names.exchange, key, body));
    expect(why, `${w.name} publishing ${key}`).toMatch(denied);
  }
  const mine = access.queues.map(queue);
  const theirs = platform.messaging.queues.filter((q) => q.consumer !== w.name).map((q) => queue(q.name));
  for (const q of mine)
    await allowed(conn, (ch) => ch.publish(names.retryExchange, q, body, { expiration: "1" }));
  for (const q of theirs.slice(0, 2)) {
    expect(
      await refusal(conn, (ch) => ch.publish(names.retryExchange, q, body)),
      `${w.name} retrying into ${q}`,
    ).toMatch(denied);
  }
  const target = theirs[0] ?? mine[0]!;
  expect(
    await refusal(conn, (ch) => ch.sendToQueue(target, body)),
    `${w.name} via the default exchange`,
  ).toMatch(denied);
  expect(
    await refusal(conn, (ch) => ch.publish(names.deadLetterExchange, target, body)),
    `${w.name} via the DLX`,
  ).toMatch(denied);
  for (const q of mine) {
    await allowed(conn, async (ch) => {
      const { consumerTag } = await ch.consume(q, () => undefined);
      await ch.cancel(consumerTag);
    });
  }
  // Its own dead letters too (the re-drive command runs as the service), never another's.
  for (const q of mine) await allowed(conn, (ch) => ch.get(`${q}.dead`));
  for (const q of theirs.slice(0, 2)) {
    expect(await refusal(conn, (ch) => ch.consume(q, () => undefined)), `${w.name} reading ${q}`).toMatch(
      denied,
    );
    expect(await refusal(conn, (ch) => ch.get(`${q}.dead`)), `${w.name} reading ${q}.dead`).toMatch(denied);
  }
  expect(
    await refusal(conn, (ch) => ch.assertExchange(`${names.exchange}.${w.name}-own`, "topic")),
    `${w.name} declaring`,
  ).toMatch(denied);
  expect(
    await refusal(conn, (ch) => ch.deleteExchange(names.exchange)),
    `${w.name} deleting the exchange`,
  ).toMatch(denied);
  if (mine[0])
    expect(await refusal(conn, (ch) => ch.deleteQueue(mine[0]!)), `${w.name} deleting its queue`).toMatch(
      denied,
    );
}
