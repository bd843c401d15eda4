import { type Redis, serviceUnavailable } from "@shopstream/runtime";

/**
 * Runs a Redis operation; while Redis is away the caller gets a 503 to retry rather than a 500.
 * Any other failure (a bug) stays what it is, so it is logged as one.
 */
export async function withRedis<T>(redis: Redis, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!redis.client.isReady) throw serviceUnavailable("Sessions are unavailable for a moment; try again");
    throw err;
  }
}
