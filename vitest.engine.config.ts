import { configDefaults, defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// Tests that use the shared Docker engine heavily, and only those:
// `flock /tmp/shopstream-fixed.lock npm run test:stores`.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/**/*.engine.test.ts"],
    exclude: [...configDefaults.exclude],
    fileParallelism: false,
  },
});
