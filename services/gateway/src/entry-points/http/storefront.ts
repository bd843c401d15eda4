import { existsSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import type { Logger } from "@shopstream/runtime";
import express, { type Express } from "express";

/**
 * The storefront's Content-Security-Policy: everything from the shop's own origin, nothing
 * inline, nothing evaluated, no plugins, no framing. `connect-src 'self'` is the API under `/api`
 * and its WebSocket (`'self'` matches ws: and wss: on the same host). Trusted Types forbid
 * assigning strings to DOM sinks such as innerHTML, which the storefront never does. Injected
 * markup can then run no script and send nothing elsewhere, so it cannot carry tokens off.
 * services/storefront/nginx.conf sends the same policy in containers; a test keeps them equal.
 */
export const STOREFRONT_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/**
 * The local run has no nginx: the gateway serves the built storefront itself, the way
 * services/storefront/nginx.conf does in containers. Hashed `/assets/*` are cached for a year;
 * the app shell (index.html) is revalidated every time; a page path the client routes (say
 * `/cart`) gets index.html when a browser asks for HTML.
 */
export function storefrontRoutes(app: Express, dir: string, logger: Logger): void {
  const root = resolve(dir);
  const indexHtml = join(root, "index.html");
  if (!existsSync(indexHtml)) {
    logger.warn({ dir: root }, "STOREFRONT_DIR has no index.html; build the storefront first");
  }
  const assets = join(root, "assets") + sep;
  const pageHeaders = (res: express.Response) => {
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Content-Security-Policy", STOREFRONT_CSP);
    res.setHeader("X-Frame-Options", "DENY");
    res.setHeader("Referrer-Policy", "strict-origin-when-cross-origin");
  };

  app.use(
    express.static(root, {
      index: false,
      redirect: false,
      cacheControl: false,
      dotfiles: "ignore",
      setHeaders(res, path) {
        pageHeaders(res);
        if (path.startsWith(assets)) res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
      },
    }),
  );
  app.get("/{*path}", (req, res, next) => {
    const isApi = req.path === "/api" || req.path.startsWith("/api/");
    const wantsHtml = (req.get("accept") ?? "").includes("text/html");
    if (isApi || req.path.startsWith("/assets/") || !wantsHtml) return next();
    pageHeaders(res);
    res.sendFile(indexHtml, (err) => {
      if (err && !res.headersSent) next();
    });
  });
}
