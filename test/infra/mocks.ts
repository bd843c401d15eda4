/**
 * The Pulumi program under Pulumi's mocks, for the tests: each run loads `infra/src/index.ts` with
 * a fresh module graph. Generated secrets come back as recognisable values so tests can prove
 * they never leak into an env value, a command or a label (./record-stack.ts).
 */
import { vi } from "vitest";
import { recordStack, type StackRun, type StackSettings } from "./record-stack.js";

export {
  envOf,
  labelOf,
  type RecordedResource,
  type StackRun,
  type StackSettings,
  TYPES,
} from "./record-stack.js";

/**
 * Runs `infra/src/index.ts` for one stack with a fresh module graph. Throws what the program
 * throws (e.g. a configuration error).
 */
export function runStack(settings: StackSettings = {}, stack = "dev"): Promise<StackRun> {
  return recordStack(
    async () => {
      vi.resetModules();
      return import("../../infra/src/index.js");
    },
    settings,
    stack,
  );
}
