import type { Redis } from "@shopstream/runtime";
import type { AddResult, CartStore, StoredLine } from "../domain/ports.js";

/**
 * A cart is one Redis hash per user (`<prefix>cart:<userId>`): field = product id, value =
 * `{"q": quantity, "n": name, "t": added at (ms)}`. Each change runs as one Lua script, so the
 * limit checks and the write cannot interleave with another request of the same user.
 */

const ADD = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local line = nil
if raw then line = cjson.decode(raw) end
local current = 0
if line then current = line.q end
if not line and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[7]) then return {-1, current} end
local wanted = current + tonumber(ARGV[2])
if wanted > tonumber(ARGV[6]) then return {-2, current} end
if wanted > tonumber(ARGV[5]) then return {0, current} end
local t = tonumber(ARGV[8])
if line then t = line.t end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({q = wanted, n = ARGV[3], t = t}))
redis.call('EXPIRE', KEYS[1], ARGV[4])
if line then return {1, wanted} end
return {2, wanted}
`;

const SET = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local line = cjson.decode(raw)
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({q = tonumber(ARGV[2]), n = ARGV[3], t = line.t}))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
`;

const REMOVE = `
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if removed == 1 and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return removed
`;

// Checkout removes an order's lines synchronously and the `order.created` consumer does it again
// as a safety net: both run this script with the same per-order marker, so whichever comes first
// applies and the other changes nothing. The marker and the removal commit together: a crash can
// neither apply an order twice nor mark it applied without applying it.
// KEYS[1] cart, KEYS[2] the order's marker, KEYS[3] (optional) an event marker written by earlier
// versions, which applied per event id: an event they applied is not applied again.
const REMOVE_ORDERED = `
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 3, #ARGV, 2 do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local line = cjson.decode(raw)
    local left = line.q - tonumber(ARGV[i + 1])
    if left > 0 then
      line.q = left
      redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(line))
    else
      redis.call('HDEL', KEYS[1], ARGV[i])
    end
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

/** How long an applied order is remembered: far longer than any redelivery takes. */
const ORDER_MARKER_TTL_SECONDS = 7 * 24 * 3600;

function parseLine(productId: string, raw: string): StoredLine | undefined {
  try {
    const value = JSON.parse(raw) as { q?: unknown; n?: unknown; t?: unknown };
    if (typeof value.q !== "number" || !Number.isInteger(value.q) || value.q < 1) return undefined;
    return {
      productId,
      quantity: value.q,
      name: typeof value.n === "string" ? value.n : "",
      addedAt: typeof value.t === "number" ? value.t : 0,
    };
  } catch {
    return undefined;
  }
}

export function createRedisCartStore(redis: Redis, options: { ttlSeconds: number }): CartStore {
  const { client } = redis;
  const cartKey = (userId: string) => redis.key("cart", userId);
  const ttl = String(options.ttlSeconds);
  const run = (script: string, keys: string[], args: (string | number)[]) =>
    client.eval(script, { keys, arguments: args.map(String) });

  return {
    async lines(userId) {
      const hash = await client.hGetAll(cartKey(userId));
      return Object.entries(hash)
        .map(([productId, raw]) => parseLine(productId, raw))
        .filter((line): line is StoredLine => line !== undefined)
        .sort((a, b) => a.addedAt - b.addedAt || a.productId.localeCompare(b.productId));
    },

    async add(userId, line, limits): Promise<AddResult> {
      const [code, quantity] = (await run(
        ADD,
        [cartKey(userId)],
        [
          line.productId,
          line.quantity,
          line.name,
          ttl,
          limits.stock,
          limits.perLine,
          limits.lines,
          Date.now(),
        ],
      )) as [number, number];
      switch (code) {
        case 1:
        case 2:
          return { kind: "added", quantity, isNewLine: code === 2 };
        case 0:
          return { kind: "short", inCart: quantity };
        case -2:
          return { kind: "line-full", inCart: quantity };
        default:
          return { kind: "cart-full" };
      }
    },

    async set(userId, line) {
      const done = await run(SET, [cartKey(userId)], [line.productId, line.quantity, line.name, ttl]);
      return done === 1;
    },

    async remove(userId, productId) {
      return (await run(REMOVE, [cartKey(userId)], [productId, ttl])) === 1;
    },

    async clear(userId) {
      await client.del(cartKey(userId));
    },

    async removeOrdered(userId, orderId, items, options = {}) {
      const args: (string | number)[] = [ORDER_MARKER_TTL_SECONDS, ttl];
      for (const item of items) args.push(item.productId, item.quantity);
      const keys = [cartKey(userId), redis.key("cart-order", userId, orderId)];
      if (options.eventId) keys.push(redis.key("cart-event", options.eventId));
      return (await run(REMOVE_ORDERED, keys, args)) === 1;
    },
  };
}
