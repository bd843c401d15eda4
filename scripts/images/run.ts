/**
 * What every phase of `npm run images:test` shares: its options, the row it reports per image,
 * its log, and the cleanup it runs once (on success, on failure and on a signal).
 */
import { stopRunningCommands } from "./docker.js";

export const LABEL = "org.shopstream.images-test";
export const IMAGE_REPO = "shopstream-images-test";
export const PORT_OFFSET = Number(process.env.IMAGES_PORT_OFFSET ?? 400);
export const BUILD_PARALLEL = Math.max(1, Number(process.env.IMAGES_BUILD_PARALLEL ?? 2));
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const COLD = process.argv.includes("--cold");
export const REBUILD = !process.argv.includes("--no-rebuild");
/** Run exactly what the model says even where it leaves a written folder on a read-only root. */
export const STRICT_MODEL = process.env.IMAGES_STRICT_MODEL === "1";
/** The image's HEALTHCHECK command, probed every second so start-to-healthy is measured closely. */
export const HEALTH_INTERVAL_S = 1;

export interface ImageRow {
  workload: string;
  image: string;
  imageId: string;
  dockerfile: string;
  sizeMB: number;
  buildSeconds: number;
  rebuildSeconds?: number;
  user: string;
  problems: string[];
  startToHealthySeconds?: number;
  startToReadySeconds?: number;
  memoryMiB?: number;
  memoryLimitMiB: number;
  stopSeconds?: number;
  stopGraceSeconds: number;
  stopExitCode?: number;
}

export const log = (msg: string) => process.stdout.write(`images:test: ${msg}\n`);
export const seconds = (ms: number) => Math.round(ms / 100) / 10;

// --- cleanup, run once: on success, on failure and on a signal --------------------------------
const cleanups: { what: string; run: () => Promise<unknown> | unknown }[] = [];
export const onCleanup = (what: string, run: () => Promise<unknown> | unknown) =>
  cleanups.push({ what, run });
let cleaning: Promise<void> | undefined;
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
      } catch (err) {
        process.stderr.write(`images:test: cleanup of ${c.what} failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

/** Ctrl-C or a SIGTERM stops the running commands and cleans up before exiting. */
export function cleanUpOnSignals(): void {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nimages:test: ${signal}: cleaning up\n`);
      stopRunningCommands();
      void cleanup().finally(() => process.exit(code));
    });
  }
}
