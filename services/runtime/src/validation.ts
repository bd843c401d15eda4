import type { z } from "zod";
import { type FieldError, validationFailed } from "./errors.js";
import { type EventEnvelope, UnprocessableEventError } from "./messaging.js";

export function toFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message:
      issue.code === "unrecognized_keys"
        ? `unknown field(s): ${issue.keys.join(", ")}`
        : issue.code === "invalid_type" && issue.input === undefined
          ? "is required"
          : issue.message,
  }));
}

/** Parses untrusted input with a zod schema; failures become a 400 problem with field errors. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  // zod 4 leaves `input` off issues unless asked: without it a wrong type read as "is required".
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw validationFailed(toFieldErrors(result.error));
  return result.data;
}

/**
 * Parses an event's `data`; a failure is an UnprocessableEventError, so the consumer
 * dead-letters the message at once instead of retrying what can never succeed.
 */
export function parseEventData<S extends z.ZodType>(schema: S, event: EventEnvelope): z.output<S> {
  const result = schema.safeParse(event.data, { reportInput: true });
  if (!result.success) {
    const fields = toFieldErrors(result.error).map((e) => `${e.path || "data"}: ${e.message}`);
    throw new UnprocessableEventError(`${event.type} ${event.id} has invalid data (${fields.join("; ")})`);
  }
  return result.data;
}
