import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/**
 * What jose needs to fetch a JWKS (`customFetch`), over node:http. Node's global `fetch` loads its
 * own copy of undici and compiles its HTTP parser to WebAssembly on first use, about 15 MiB per
 * process; services that call nothing else over HTTP (product, notification, analytics, and the
 * gateway, which has its own pool) need none of it for one small GET every few minutes.
 * Failures look like fetch's: a TypeError for the network, the signal's reason for an abort.
 */
export function fetchJwks(
  url: string,
  options: { signal?: AbortSignal; headers?: Headers | Record<string, string> } = {},
): Promise<{ status: number; json(): Promise<unknown> }> {
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) return reject(signal.reason);
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    // Not `instanceof Headers`: naming the global would load the very module this file avoids.
    const given = options.headers as { entries?: () => Iterable<[string, string]> } | undefined;
    const extra: Record<string, string> =
      typeof given?.entries === "function"
        ? Object.fromEntries(given.entries())
        : ((options.headers as Record<string, string> | undefined) ?? {});
    const req = send(target, { method: "GET", headers: { accept: "application/json", ...extra } });
    const onAbort = () => req.destroy(signal?.reason as Error);
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => signal?.removeEventListener("abort", onAbort);
    req.on("error", (err) => {
      done();
      reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: err }));
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        // A key set is a few hundred bytes; a megabyte is not one.
        if (size > 1024 * 1024) return req.destroy(new Error("JWKS response too large"));
        chunks.push(chunk);
      });
      res.on("end", () => {
        done();
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, json: async () => JSON.parse(text) as unknown });
      });
      res.on("error", (err) => {
        done();
        reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: err }));
      });
    });
    req.end();
  });
}
