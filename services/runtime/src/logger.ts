import { pino } from "pino";
import { traceFields } from "./tracing.js";

export type Logger = pino.Logger;

/** Paths redacted from every log line: credentials and tokens never reach the logs. */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["sec-websocket-protocol"]',
  "res.headers['set-cookie']",
  "password",
  "*.password",
  "token",
  "*.token",
  "accessToken",
  "refreshToken",
  "*.accessToken",
  "*.refreshToken",
  "email",
  "*.email",
];

/**
 * One JSON line per event, each with the service's name and, when the platform sets
 * `SERVICE_VERSION` (both sides of a canary release), its version.
 */
export function createLogger(
  service: string,
  level: string,
  destination?: pino.DestinationStream,
  version: string | undefined = serviceVersion(),
): Logger {
  return pino(
    {
      level,
      base: version ? { service, version } : { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
      // trace_id and span_id of the active span (docs/tracing.md); Loki links them to Tempo.
      mixin: traceFields,
    },
    destination,
  );
}

/** The version this process reports in its logs and metrics (`SERVICE_VERSION`), if any. */
export function serviceVersion(env: Record<string, string | undefined> = process.env): string | undefined {
  const v = env.SERVICE_VERSION?.trim();
  return v ? v : undefined;
}
