/**
 * The AsyncAPI 3 document of the events on RabbitMQ, from the same sources the platform runs on:
 * the payload schemas publishers build their events with (`EVENT_SCHEMAS` in the shared runtime)
 * and the model's messaging topology (exchange, queues with their bindings, who publishes what).
 * `npm run openapi` writes it to docs/asyncapi.json; test/contract/events.test.ts fails when it is
 * stale, and the consumers' tests check what they are sent against it.
 */
import { EVENT_SCHEMAS, EVENT_TYPES, type EventType, eventEnvelopeSchema } from "@shopstream/runtime";
import { z } from "zod";
import { MESSAGING } from "../../infra/src/model/index.js";
import { withGenerated } from "../doc-markers.js";

export const ASYNCAPI_FILE = "docs/asyncapi.json";

/** Whether an AMQP topic binding (`*` one word, `#` zero or more) routes `key`. */
export function topicMatches(binding: string, key: string): boolean {
  const match = (b: string[], k: string[]): boolean => {
    if (b.length === 0) return k.length === 0;
    const [head, ...rest] = b;
    if (head === "#") return match(rest, k) || (k.length > 0 && match(b, k.slice(1)));
    return k.length > 0 && (head === "*" || head === k[0]) && match(rest, k.slice(1));
  };
  return match(binding.split("."), key.split("."));
}

/** The documented events a queue receives: those its bindings route to it. */
export const eventsOfQueue = (bindings: string[]): EventType[] =>
  EVENT_TYPES.filter((type) => bindings.some((b) => topicMatches(b, type)));

/** The JSON Schema (draft-07, AsyncAPI's default schema format) of one event's whole envelope. */
export function envelopeJsonSchema(type: EventType): Record<string, unknown> {
  const schema = eventEnvelopeSchema(EVENT_SCHEMAS[type]).extend({ type: z.literal(type) });
  const { $schema: _, ...json } = z.toJSONSchema(schema, { target: "draft-7", io: "output" }) as Record<
    string,
    unknown
  >;
  return json;
}

const exchangeBinding = () => ({
  amqp: {
    is: "routingKey",
    exchange: {
      name: MESSAGING.exchange,
      type: "topic",
      durable: true,
      autoDelete: false,
      vhost: MESSAGING.vhost,
    },
    bindingVersion: "0.3.0",
  },
});

const queueBinding = (name: string) => ({
  amqp: {
    is: "queue",
    queue: { name, durable: true, exclusive: false, autoDelete: false, vhost: MESSAGING.vhost },
    bindingVersion: "0.3.0",
  },
});

const messageRef = (type: EventType) => ({ $ref: `#/components/messages/${type}` });

/** The one service that may publish `type` (MESSAGING.publishers). */
function publisherOf(type: EventType): string {
  const publisher = Object.entries(MESSAGING.publishers).find(([, keys]) => keys.includes(type))?.[0];
  if (!publisher) throw new Error(`no service publishes ${type} (MESSAGING.publishers)`);
  return publisher;
}

export function asyncApiDocument(version: string) {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const type of EVENT_TYPES) {
    const publisher = publisherOf(type);
    channels[type] = {
      address: type,
      title: type,
      description: `Routing key \`${type}\` on the \`${MESSAGING.exchange}\` exchange, published by ${publisher}.`,
      messages: { [type]: messageRef(type) },
      bindings: exchangeBinding(),
    };
    operations[`${publisher}.publish.${type}`] = {
      action: "send",
      title: `${publisher} publishes ${type}`,
      channel: { $ref: `#/channels/${type}` },
      messages: [{ $ref: `#/channels/${type}/messages/${type}` }],
      bindings: { amqp: { deliveryMode: 2, mandatory: false, bindingVersion: "0.3.0" } },
    };
  }
  for (const queue of MESSAGING.queues) {
    const received = eventsOfQueue(queue.bindings);
    const id = `queue.${queue.name}`;
    channels[id] = {
      address: queue.name,
      title: `${queue.name} (${queue.consumer})`,
      description: `The ${queue.consumer} service's durable queue, bound to ${queue.bindings
        .map((b) => `\`${b}\``)
        .join(
          ", ",
        )}. A message its handler keeps failing goes to \`${queue.name}.dead\` (docs/dead-letters.md).`,
      messages: Object.fromEntries(received.map((type) => [type, messageRef(type)])),
      bindings: queueBinding(queue.name),
    };
    operations[`${queue.consumer}.receive.${queue.name}`] = {
      action: "receive",
      title: `${queue.consumer} consumes ${queue.name}`,
      channel: { $ref: `#/channels/${id}` },
      messages: received.map((type) => ({ $ref: `#/channels/${id}/messages/${type}` })),
      bindings: { amqp: { ack: true, bindingVersion: "0.3.0" } },
    };
  }

  return {
    asyncapi: "3.0.0",
    info: {
      title: "ShopStream events",
      version,
      description:
        "The events the ShopStream services exchange on RabbitMQ: every event is a persistent JSON envelope " +
        "`{id, type, occurredAt, data}` published with confirms to one topic exchange, its routing key being " +
        "its type. Delivery is at least once: consumers deduplicate on `id`. Generated by `npm run openapi`.",
    },
    defaultContentType: "application/json",
    servers: {
      rabbitmq: {
        host: "rabbitmq:5672",
        protocol: "amqp",
        protocolVersion: "0.9.1",
        pathname: `/${MESSAGING.vhost}`,
        description:
          "The platform's broker; each service signs in as its own user (docs/least-privilege.md).",
      },
    },
    channels,
    operations,
    components: {
      messages: Object.fromEntries(
        EVENT_TYPES.map((type) => [
          type,
          {
            name: type,
            title: type,
            summary: EVENT_SCHEMAS[type].meta()?.description,
            contentType: "application/json",
            payload: envelopeJsonSchema(type),
          },
        ]),
      ),
    },
  };
}

export const renderAsyncApi = (version: string) => `${JSON.stringify(asyncApiDocument(version), null, 2)}\n`;

export const EVENTS_DOC = "docs/events.md";
const TABLE_START = "<!-- events-table:start -->";
const TABLE_END = "<!-- events-table:end -->";

/** The table of docs/events.md: each event, who publishes it, who consumes it on which queue, its data. */
export function renderEventsTable(): string {
  const consumers = (type: EventType) =>
    MESSAGING.queues
      .filter((q) => eventsOfQueue(q.bindings).includes(type))
      .map((q) => `${q.consumer} (\`${q.name}\`)`)
      .join(", ");
  const fields = (type: EventType) => {
    const shape = (EVENT_SCHEMAS[type] as unknown as z.ZodObject).shape;
    return Object.entries(shape)
      .map(([key, field]) => `\`${key}${(field as z.ZodType).safeParse(undefined).success ? "?" : ""}\``)
      .join(", ");
  };
  return [
    "| routing key | published by | consumed by (queue) | `data` (`?`: optional) |",
    "|---|---|---|---|",
    ...EVENT_TYPES.map((t) => `| \`${t}\` | ${publisherOf(t)} | ${consumers(t)} | ${fields(t)} |`),
  ].join("\n");
}

/** `doc` with its generated table replaced by the current one. */
export function withEventsTable(doc: string): string {
  return withGenerated(doc, EVENTS_DOC, TABLE_START, TABLE_END, renderEventsTable());
}
