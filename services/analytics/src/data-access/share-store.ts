import { randomUUID } from "node:crypto";
import type { Redis } from "@shopstream/runtime";
import { fieldOf, type Increment } from "../domain/increments.js";
import type { ShareStore } from "../domain/ports.js";

/** How many replicas can hold a share at once. */
const MAX_SHARES = 256;

/**
 * Applies increments to the share's totals, once per event id: the owner check, the event's
 * marker (SET NX) and every HINCRBY happen in one atomic step, or not at all. Without an event
 * id (client events) there is no marker. A replica that lost its share writes nothing.
 */
const APPLY = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('SHARE_LOST this replica no longer owns its share') end
if KEYS[3] and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[2]) then return 0 end
for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
`;
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

/**
 * The running totals of this replica's share of the business counters, in Redis.
 *
 * Each replica leases one numbered share (`analytics:share:<n>`) and counts into that share's
 * hash only, and its `/metrics` show that share: Prometheus `sum()` over the replicas is the
 * whole. A restarted replica takes a free share again (the one it released on a graceful stop)
 * and continues from its totals, so restarts lose no business numbers and never count twice.
 */
export class RedisShareStore implements ShareStore {
  private readonly owner = randomUUID();
  private share: number | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly options: { leaseMs: number; dedupTtlSeconds: number },
  ) {}

  get current(): number | undefined {
    return this.share;
  }

  /** Leases the lowest free share; resolves with its totals by hash field. */
  async claim(): Promise<Map<string, number>> {
    for (let n = 0; n < MAX_SHARES; n++) {
      const taken = await this.redis.client.set(this.ownerKey(n), this.owner, {
        condition: "NX",
        expiration: { type: "PX", value: this.options.leaseMs },
      });
      if (taken === "OK") {
        this.share = n;
        const raw = await this.redis.client.hGetAll(this.totalsKey(n));
        return new Map(Object.entries(raw).map(([field, value]) => [field, Number(value)]));
      }
    }
    throw new Error(`all ${MAX_SHARES} analytics shares are taken`);
  }

  /** Extends the lease; false when the share was lost (the lease ran out and was taken). */
  async renew(): Promise<boolean> {
    if (this.share === undefined) return false;
    const kept = await this.redis.client.eval(RENEW, {
      keys: [this.ownerKey(this.share)],
      arguments: [this.owner, String(this.options.leaseMs)],
    });
    if (Number(kept) !== 1) this.share = undefined;
    return Number(kept) === 1;
  }

  async release(): Promise<void> {
    if (this.share === undefined) return;
    await this.redis.client.eval(RELEASE, { keys: [this.ownerKey(this.share)], arguments: [this.owner] });
    this.share = undefined;
  }

  /** Adds the increments to this share; false when `eventId` was already counted (by any replica). */
  async apply(eventId: string | undefined, increments: Increment[]): Promise<boolean> {
    if (this.share === undefined) throw new Error("this replica holds no analytics share");
    const keys = [this.ownerKey(this.share), this.totalsKey(this.share)];
    if (eventId !== undefined) keys.push(this.redis.key("analytics", "event", eventId));
    const result = await this.redis.client.eval(APPLY, {
      keys,
      arguments: [
        this.owner,
        String(this.options.dedupTtlSeconds),
        ...increments.flatMap((i) => [fieldOf(i.metric, i.labels), String(i.by)]),
      ],
    });
    return Number(result) === 1;
  }

  private ownerKey(n: number) {
    return this.redis.key("analytics", "share", n, "owner");
  }

  private totalsKey(n: number) {
    return this.redis.key("analytics", "share", n, "totals");
  }
}
