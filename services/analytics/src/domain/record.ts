import { type EventEnvelope, type Logger, serviceUnavailable } from "@shopstream/runtime";
import { busEventIncrements } from "./bus-events.js";
import { type ClientEventType, clientEventIncrements } from "./client-events.js";
import type { Counters, ShareStore } from "./ports.js";

export interface RecordDeps {
  shares: ShareStore;
  counters: Pick<Counters, "add">;
  logger: Logger;
}

/**
 * Counts an event of the bus once, whichever replica consumes it and however often it is
 * delivered: the totals in Redis move first (with the event's marker), then this process's
 * counters. A failure before the Redis step leaves nothing counted and the event is retried.
 */
export async function recordBusEvent(deps: RecordDeps, event: EventEnvelope): Promise<void> {
  const increments = busEventIncrements(event);
  if (!(await deps.shares.apply(event.id, increments))) {
    deps.logger.debug({ eventId: event.id, type: event.type }, "event already counted; skipped");
    return;
  }
  deps.counters.add(increments);
}

/** Counts a validated client event; the user id, when the client sent a token, goes to the log. */
export async function recordClientEvent(
  deps: RecordDeps,
  type: ClientEventType,
  userId: string | undefined,
): Promise<void> {
  const increments = clientEventIncrements(type);
  try {
    await deps.shares.apply(undefined, increments);
  } catch (err) {
    deps.logger.warn({ type, err: (err as Error).message }, "could not record a client event");
    throw serviceUnavailable("Events cannot be recorded right now; try again later");
  }
  deps.counters.add(increments);
  deps.logger.info({ type, userId: userId ?? null, source: "client" }, "client event recorded");
}
