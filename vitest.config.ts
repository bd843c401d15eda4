import { configDefaults, defineConfig } from "vitest/config";

// Tests import workspace packages from their TypeScript sources (the "source" export
// condition), so `npm test` needs no build step.
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // On the shared Docker engine: `npm run test:stores` (vitest.engine.config.ts), under the lock.
    exclude: [...configDefaults.exclude, "test/**/*.engine.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    // GitHub's workflow parser imports its schema JSON without an import attribute, which Node's
    // own loader refuses; Vite transforms it instead.
    server: { deps: { inline: ["@actions/workflow-parser"] } },
  },
});
