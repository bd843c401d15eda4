import { createHash } from "node:crypto";
import type { Platform } from "../model/index.js";
import { EXCHANGE_TYPES, queueDeclarations } from "../model/index.js";
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
 * Broker definitions imported on boot: the vhost, the application user (password hash only), the
 * events exchange, the dead-letter exchange, and every consumer's queues and bindings, declared
 * with exactly the arguments the services use. Contains a password hash, so it is a secret file.
 */
export function rabbitmqDefinitions(platform: Platform, passwordHash: string): string {
  const { messaging: m, settings } = platform;
  const vhost = m.vhost;
  const queues = queueDeclarations(m);
  const definitions = {
    users: [
      {
        name: settings.rabbitmqUser,
        password_hash: passwordHash,
        hashing_algorithm: "rabbit_password_hashing_sha256",
        tags: [],
      },
    ],
    vhosts: [{ name: vhost }],
    permissions: [{ user: settings.rabbitmqUser, vhost, configure: ".*", write: ".*", read: ".*" }],
    exchanges: [
      { name: m.exchange, type: EXCHANGE_TYPES.events },
      { name: m.deadLetterExchange, type: EXCHANGE_TYPES.deadLetter },
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
