import { z } from "zod";
import { amqpEnv, ConfigError, loadConfig } from "./config.js";
import { redriveDeadLetters } from "./redrive.js";

/**
 * `node services/runtime/dist/redrive-cli.js <queue>...`: re-drives the dead letters of the named
 * consumer queues (docs/dead-letters.md). Run it where the owning service runs, with its env
 * (its broker user may read its own dead-letter queues and nothing else).
 */
async function main(queues: string[]): Promise<number> {
  if (queues.length === 0 || queues.some((q) => q.startsWith("-"))) {
    console.error("usage: redrive-cli <queue>...   e.g. redrive-cli order.payment-events");
    return 2;
  }
  const config = loadConfig(z.object(amqpEnv));
  for (const queue of queues) {
    const result = await redriveDeadLetters(config, queue);
    console.log(
      JSON.stringify({ msg: "dead letters re-driven", ...result, left: result.found - result.moved }),
    );
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err instanceof ConfigError ? err.message : `re-drive failed: ${err.message}`);
    process.exit(1);
  },
);
