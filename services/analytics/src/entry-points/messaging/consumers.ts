import type { Broker } from "@shopstream/runtime";
import { type RecordDeps, recordBusEvent } from "../../domain/record.js";

/** `analytics.events` in MESSAGING (infra/src/model/constants.ts); a test keeps them equal. */
export const ANALYTICS_EVENTS_QUEUE = { name: "analytics.events", bindings: ["#"] };

export async function consumeAllEvents(broker: Broker, deps: RecordDeps): Promise<void> {
  await broker.consume(ANALYTICS_EVENTS_QUEUE.name, ANALYTICS_EVENTS_QUEUE.bindings, (event) =>
    recordBusEvent(deps, event),
  );
}
