import type { Logger } from "@shopstream/runtime";
import type { Counters, ShareStore } from "./ports.js";

/**
 * Renews this replica's lease on its share of the totals. If the lease was lost (Redis was
 * unreachable for longer than the lease), the replica takes a free share and shows its totals:
 * never two replicas reporting the same share.
 */
export function keepShare(
  deps: { shares: ShareStore; counters: Pick<Counters, "load">; logger: Logger },
  intervalMs: number,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      if (await deps.shares.renew()) return;
      deps.logger.warn("analytics share lost; taking a free one");
      deps.counters.load(await deps.shares.claim());
      deps.logger.info({ share: deps.shares.current }, "analytics share taken");
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, "could not renew the analytics share; will retry");
    }
  };
  const timer = setInterval(() => {
    running = running.then(tick);
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
