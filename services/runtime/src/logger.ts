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

export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
      // trace_id and span_id of the active span (docs/tracing.md); Loki links them to Tempo.
      mixin: traceFields,
    },
    destination,
  );
}
