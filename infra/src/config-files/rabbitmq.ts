import { createHash } from "node:crypto";
import type { BrokerNames, Platform, SecretName } from "../model/index.js";
import { brokerNames, brokerPermissions, EXCHANGE_TYPES, queueDeclarations } from "../model/index.js";
import { mountPathOf } from "./context.js";

/** rabbitmq.conf drop-in: import the definitions on boot, log JSON to the console. */
export function rabbitmqConf(platform: Platform): string {
  return `# Generated from the ShopStream platform model (infra/src/config-files/rabbitmq.ts).
definitions.import_backend = local_filesystem
definitions.local.path = ${mountPathOf(platform, "rabbitmq-definitions")}
definitions.skip_if_unchanged = true
loopback_users.guest = true
log.console = true
log.console.level = info
log.console.formatter = json
vm_memory_high_watermark.relative = 0.6
`;
}

/**
 * RabbitMQ's `rabbit_password_hashing_sha256` scheme: base64(salt ‖ SHA-256(salt ‖ utf8(password)))
 * with a 32-bit salt. The salt is derived from the password so that the definitions stay the same
 * from one run to the next (a random salt would rewrite the file on every deployment).
 */
export function rabbitmqPasswordHash(password: string, salt?: Buffer): string {
  const s =
    salt ?? createHash("sha256").update(`shopstream-rabbitmq-salt:${password}`).digest().subarray(0, 4);
  if (s.length !== 4) throw new Error("RabbitMQ password salts are 4 bytes");
  const digest = createHash("sha256")
    .update(Buffer.concat([s, Buffer.from(password, "utf8")]))
    .digest();
  return Buffer.concat([s, digest]).toString("base64");
}

/**
 * Broker definitions: the vhost, one user per service (password hash only) with its permissions
 * and topic permissions (`brokerPermissions`), the events, dead-letter and retry exchanges, and
 * every consumer's queues and bindings, declared with exactly the arguments the services use.
 * Containers import it on boot; the local run imports it into the developer's broker (with its
 * isolation prefix in `names`). Contains password hashes, so it is a secret file.
 *
 * `passwords` maps each user's password secret to its value.
 */
export function rabbitmqDefinitions(
  platform: Platform,
  passwords: Partial<Record<SecretName, string>>,
  names: BrokerNames = brokerNames(platform.messaging),
): string {
  const vhost = names.vhost;
  const queues = queueDeclarations(platform.messaging, names);
  const grants = platform.workloads.flatMap((w) => (w.broker ? [w.broker] : []));
  const passwordOf = (secret: SecretName) => {
    const value = passwords[secret];
    if (!value) throw new Error(`no password for the broker user of ${secret}`);
    return value;
  };
  const definitions = {
    users: grants.map((g) => ({
      name: g.user,
      password_hash: rabbitmqPasswordHash(passwordOf(g.passwordSecret)),
      hashing_algorithm: "rabbit_password_hashing_sha256",
      tags: [],
    })),
    vhosts: [{ name: vhost }],
    permissions: grants.map((g) => {
      const p = brokerPermissions(g, names);
      return { user: g.user, vhost, configure: p.configure, write: p.write, read: p.read };
    }),
    topic_permissions: grants.flatMap((g) =>
      brokerPermissions(g, names).topics.map((t) => ({ user: g.user, vhost, ...t })),
    ),
    exchanges: [
      { name: names.exchange, type: EXCHANGE_TYPES.events },
      { name: names.deadLetterExchange, type: EXCHANGE_TYPES.deadLetter },
      { name: names.retryExchange, type: EXCHANGE_TYPES.retry },
    ].map((e) => ({ ...e, vhost, durable: true, auto_delete: false, internal: false, arguments: {} })),
    queues: queues.map((q) => ({
      name: q.name,
      vhost,
      durable: true,
      auto_delete: false,
      arguments: q.arguments,
    })),
    bindings: queues.flatMap((q) =>
      q.bindings.map((b) => ({
        source: b.exchange,
        vhost,
        destination: q.name,
        destination_type: "queue",
        routing_key: b.routingKey,
        arguments: {},
      })),
    ),
  };
  return `${JSON.stringify(definitions, null, 2)}\n`;
}
