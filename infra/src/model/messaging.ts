import type { BrokerAccess, MessagingTopology } from "./types.js";

/**
 * The names one run of the platform uses on a broker: the topology's own, or with an isolation
 * prefix in front of the exchanges and queues (an isolated local run, the tests).
 */
export interface BrokerNames {
  vhost: string;
  exchange: string;
  deadLetterExchange: string;
  retryExchange: string;
  /** Put in front of every queue name. */
  queuePrefix: string;
}

/**
 * The exchanges derive from the events exchange's name exactly as `@shopstream/runtime` derives
 * them from `AMQP_EXCHANGE` (`<exchange>.dlx`, `<exchange>.retry`).
 */
export function brokerNames(topology: MessagingTopology, isolation = ""): BrokerNames {
  const exchange = `${isolation}${topology.exchange}`;
  return {
    vhost: topology.vhost,
    exchange,
    deadLetterExchange: `${exchange}.dlx`,
    retryExchange: `${exchange}.retry`,
    queuePrefix: isolation,
  };
}

/** A durable queue as the broker must hold it, with the arguments every declarer uses. */
export interface QueueDeclaration {
  name: string;
  arguments: Record<string, string>;
  /** Exchange and routing keys that feed it. */
  bindings: { exchange: string; routingKey: string }[];
}

/**
 * The queues behind every consumer of the topology, exactly as `@shopstream/runtime` declares
 * them (`queueArguments` in services/runtime/src/messaging.ts): the consumer queue dead-letters
 * to the DLX under its own name, `<queue>.retry` (fed by the retry exchange under the queue's
 * name) returns expired messages to the consumer queue through the default exchange, and
 * `<queue>.dead` collects what failed for the last time. A broker pre-loaded with other
 * arguments would refuse the services' declarations, so the broker definitions are generated
 * from this function.
 */
export function queueDeclarations(
  topology: MessagingTopology,
  names: BrokerNames = brokerNames(topology),
): QueueDeclaration[] {
  return topology.queues.flatMap((q): QueueDeclaration[] => {
    const name = `${names.queuePrefix}${q.name}`;
    return [
      {
        name,
        arguments: {
          "x-dead-letter-exchange": names.deadLetterExchange,
          "x-dead-letter-routing-key": name,
        },
        bindings: q.bindings.map((routingKey) => ({ exchange: names.exchange, routingKey })),
      },
      {
        name: `${name}.retry`,
        arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": name },
        bindings: [{ exchange: names.retryExchange, routingKey: name }],
      },
      {
        name: deadLetterQueue(name),
        arguments: {},
        bindings: [{ exchange: names.deadLetterExchange, routingKey: name }],
      },
    ];
  });
}

/** Where a consumer queue's poison messages end up; alerting watches these. */
export function deadLetterQueue(queue: string): string {
  return `${queue}.dead`;
}

/**
 * The events exchange is a topic exchange; the dead-letter exchange routes by queue name; the
 * retry exchange is a topic exchange too, so that topic permissions can hold each service to
 * the names of its own queues.
 */
export const EXCHANGE_TYPES = { events: "topic", deadLetter: "direct", retry: "topic" } as const;

/** A user's permissions on one vhost, as the broker's regular expressions. */
export interface BrokerPermissions {
  configure: string;
  write: string;
  read: string;
  /** Topic permissions: routing keys it may publish (write) and bind (read), per topic exchange. */
  topics: { exchange: string; write: string; read: string }[];
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\#]/g, "\\$&");
/** A regular expression matching exactly these names; nothing at all when there are none. */
export const exactly = (names: string[]) => (names.length ? `^(${names.map(escapeRegex).join("|")})$` : "^$");

/**
 * What a service's broker user may do: configure nothing (the topology is declared for it), read
 * its own consumer queues and their dead-letter queues (the re-drive command, run with the
 * service's env, takes dead letters from there), publish only its own routing keys on the events
 * exchange, and park retries (and re-driven dead letters) only under its own queues' names on the
 * retry exchange. No write on the default exchange, which would reach every queue of the vhost by
 * name.
 */
export function brokerPermissions(access: BrokerAccess, names: BrokerNames): BrokerPermissions {
  const queues = access.queues.map((q) => `${names.queuePrefix}${q}`);
  const writes = [
    ...(access.publishes.length ? [names.exchange] : []),
    ...(queues.length ? [names.retryExchange] : []),
  ];
  return {
    configure: "^$",
    write: exactly(writes),
    read: exactly([...queues, ...queues.map(deadLetterQueue)]),
    topics: [
      { exchange: names.exchange, write: exactly(access.publishes), read: exactly(access.binds) },
      { exchange: names.retryExchange, write: exactly(queues), read: "^$" },
    ],
  };
}
