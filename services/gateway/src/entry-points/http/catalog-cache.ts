import type { IncomingMessage, ServerResponse } from "node:http";
import { LRUCache } from "lru-cache";
import type { ForwardOptions, UpstreamAnswer, UpstreamProxy } from "./proxy.js";

/** A catalog answer kept by this gateway: everything needed to answer again without the service. */
interface Entry {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  etag: string | undefined;
}

export interface CatalogCache {
  /** Answers from the cache, or forwards (one request per key at a time) and keeps the answer. */
  serve(req: IncomingMessage, res: ServerResponse, options: ForwardOptions): void;
  /** Forgets every entry at once: a product changed. */
  clear(): void;
  readonly size: number;
}

/** `s-maxage` in ms when the answer says a shared cache may keep it, otherwise 0. */
export function sharedMaxAgeMs(cacheControl: string | string[] | undefined): number {
  const value = Array.isArray(cacheControl) ? cacheControl.join(",") : (cacheControl ?? "");
  if (!/(^|,)\s*public\s*(,|$)/i.test(value) || /private|no-store/i.test(value)) return 0;
  const m = /s-maxage\s*=\s*(\d+)/i.exec(value);
  return m ? Number(m[1]) * 1000 : 0;
}

/** True when the client's cached copy (If-None-Match) is the current one. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string | undefined): boolean {
  if (!ifNoneMatch || !etag) return false;
  const bare = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag.replace(/^W\//, "") === bare;
  });
}

/** Headers of one exchange, not of the answer: each request gets its own. */
const PER_REQUEST = new Set(["x-request-id", "date", "ratelimit", "ratelimit-policy", "retry-after"]);

function cacheable(status: number, headers: UpstreamAnswer["headers"]): number {
  if (status !== 200 || headers["set-cookie"] !== undefined) return 0;
  const vary = String(headers.vary ?? "").toLowerCase();
  if (vary && vary !== "accept-encoding") return 0;
  return sharedMaxAgeMs(headers["cache-control"]);
}

/**
 * A micro-cache in front of the product service for catalog reads (GET, no body). It keeps only
 * what the service marks shareable (`Cache-Control: public, s-maxage=N`), for at most `maxMs`,
 * and forgets everything whenever the product service announces a change (`clear`), so a change
 * is visible to the next read after it. Concurrent misses of one key wait for one upstream
 * request instead of sending fifty. Answers `If-None-Match` with 304 from the entry's ETag.
 */
export function createCatalogCache(options: {
  proxy: UpstreamProxy;
  maxMs: number;
  /** Total bytes kept; the least recently used entries go first. */
  maxBytes?: number;
  onHit?: () => void;
  onMiss?: () => void;
  /** Told the number of entries after each change of it. */
  onSize?: (entries: number) => void;
}): CatalogCache {
  const { proxy } = options;
  const entries = new LRUCache<string, Entry>({
    maxSize: options.maxBytes ?? 8 * 1024 * 1024,
    sizeCalculation: (e) => e.body.length + 512,
    ttlAutopurge: false,
  });
  const filling = new Map<string, Promise<Entry | undefined>>();
  // Bumped by every clear(): a fill that started before a change must not store its answer.
  let generation = 0;

  const answerFrom = (req: IncomingMessage, res: ServerResponse, entry: Entry) => {
    res.statusCode = entry.status;
    for (const key in entry.headers) res.setHeader(key, entry.headers[key]!);
    if (matchesEtag(req.headers["if-none-match"], entry.etag)) {
      res.statusCode = 304;
      res.removeHeader("content-length");
      res.removeHeader("content-type");
      res.end();
      return;
    }
    res.end(req.method === "HEAD" ? undefined : entry.body);
  };

  const fill = (req: IncomingMessage, res: ServerResponse, key: string, o: ForwardOptions) => {
    const started = generation;
    let settle!: (entry: Entry | undefined) => void;
    const done = new Promise<Entry | undefined>((resolve) => {
      settle = resolve;
    });
    filling.set(key, done);
    const finish = (entry: Entry | undefined) => {
      if (filling.get(key) === done) filling.delete(key);
      settle(entry);
    };
    // The proxy calls capture once, however the exchange ends: without a complete answer the
    // waiters are released and ask the service themselves.
    proxy.forward(req, res, {
      ...o,
      keep: (status, headers) => Math.min(cacheable(status, headers), options.maxMs) > 0,
      capture(answer) {
        if (!answer) return finish(undefined);
        const ttl = Math.min(cacheable(answer.status, answer.headers), options.maxMs);
        if (ttl <= 0 || started !== generation) return finish(undefined);
        const etag = answer.headers.etag;
        const headers: Record<string, string | string[]> = {};
        for (const key in answer.headers) if (!PER_REQUEST.has(key)) headers[key] = answer.headers[key]!;
        const entry: Entry = {
          status: answer.status,
          headers,
          body: answer.body,
          etag: Array.isArray(etag) ? etag[0] : etag,
        };
        entries.set(key, entry, { ttl });
        options.onSize?.(entries.size);
        finish(entry);
      },
    });
  };

  return {
    get size() {
      return entries.size;
    },
    clear() {
      generation += 1;
      entries.clear();
      filling.clear();
      options.onSize?.(0);
    },
    serve(req, res, o) {
      const key = o.path;
      const cached = req.method === "GET" || req.method === "HEAD" ? entries.get(key) : undefined;
      if (cached) {
        options.onHit?.();
        answerFrom(req, res, cached);
        return;
      }
      options.onMiss?.();
      if (req.method !== "GET") return proxy.forward(req, res, o);
      const pending = filling.get(key);
      if (!pending) return fill(req, res, key, o);
      void pending.then((entry) => {
        if (res.destroyed || res.writableEnded) return;
        if (entry) answerFrom(req, res, entry);
        else proxy.forward(req, res, o);
      });
    },
  };
}
