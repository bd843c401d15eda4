/** Names and addresses a platform derives from its settings. */
import { KEY_PREFIX } from "./constants.js";
import { firstPort } from "./env.js";
import type { PlatformSettings, PublicHost, RedisInstance, SecretName, Workload } from "./types.js";

/** `<isolation><prefix>-<service>`: the name of a service's own RabbitMQ and Redis user. */
export function serviceUser(s: PlatformSettings, service: string): string {
  return `${s.isolation ?? ""}${s.userPrefix}-${service}`;
}

/**
 * A service's Redis ACL user on `instance`: its own name on the main Redis, `-cache` after it on
 * the cache instance. Distinct, so one Redis can play both roles (the local run).
 */
export function redisUser(s: PlatformSettings, service: string, instance: RedisInstance): string {
  return `${serviceUser(s, service)}${instance === "redis-cache" ? "-cache" : ""}`;
}

/** The secret holding that user's password. */
export function redisPasswordSecret(service: string, instance: RedisInstance): SecretName {
  return `redis-password-${service}${instance === "redis-cache" ? "-cache" : ""}`;
}

/** A run's Redis key prefix: `shopstream:`, with its isolation prefix after it. */
export function redisKeyPrefix(s: PlatformSettings): string {
  return `${KEY_PREFIX}${s.isolation ?? ""}`;
}

/**
 * The port a workload listens on and is reached at: its model port, moved by the offset when
 * every app service shares one host (`sharedHost`), the gateway wherever that puts it.
 */
export function listenPort(s: PlatformSettings, w: Pick<Workload, "name" | "ports">): number {
  const shared = s.sharedHost;
  if (!shared) return firstPort(w);
  if (w.name === "gateway" && shared.gatewayPort !== undefined) return shared.gatewayPort;
  return firstPort(w) + shared.portOffset;
}

/** The public origin of one of the edge's hosts, with the port when it is not the default. */
export function publicOrigin(s: PlatformSettings, host: PublicHost): string {
  const defaultPort = s.publicScheme === "https" ? 443 : 80;
  const port = s.publicPort !== undefined && s.publicPort !== defaultPort ? `:${s.publicPort}` : "";
  return `${s.publicScheme}://${s.hosts[host]}${port}`;
}
