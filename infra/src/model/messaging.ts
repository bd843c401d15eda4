import type { MessagingTopology } from "./types.js";

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
 * to the DLX under its own name, `<queue>.retry` returns expired messages to the consumer queue
 * through the default exchange, and `<queue>.dead` collects what failed for the last time. A
 * broker pre-loaded with other arguments would refuse the services' declarations, so the broker
 * definitions are generated from this function.
 */
export function queueDeclarations(topology: MessagingTopology): QueueDeclaration[] {
  return topology.queues.flatMap((q): QueueDeclaration[] => [
    {
      name: q.name,
      arguments: {
        "x-dead-letter-exchange": topology.deadLetterExchange,
        "x-dead-letter-routing-key": q.name,
      },
      bindings: q.bindings.map((routingKey) => ({ exchange: topology.exchange, routingKey })),
    },
    {
      name: `${q.name}.retry`,
      arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q.name },
      bindings: [],
    },
    {
      name: deadLetterQueue(q.name),
      arguments: {},
      bindings: [{ exchange: topology.deadLetterExchange, routingKey: q.name }],
    },
  ]);
}

/** Where a consumer queue's poison messages end up; alerting watches these. */
export function deadLetterQueue(queue: string): string {
  return `${queue}.dead`;
}

/** The events exchange is a topic exchange; the dead-letter exchange routes by queue name. */
export const EXCHANGE_TYPES = { events: "topic", deadLetter: "direct" } as const;
