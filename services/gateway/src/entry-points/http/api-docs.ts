import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import express, { type Express, type Response } from "express";
import document from "../../openapi/openapi.json" with { type: "json" };
import { setSecurityHeaders } from "./api-routes.js";

/** Where the document and the interactive docs are (docs/api.md). */
export const OPENAPI_PATH = "/api/openapi.json";
export const DOCS_PATH = "/api/docs";

/**
 * The docs page's Content-Security-Policy: the API's `default-src 'none'` opened only as far as
 * Swagger UI needs, all from this origin: its bundled script and stylesheet, the document and
 * "try it" calls (`connect-src 'self'`), and its icons, which its stylesheet inlines as `data:`
 * SVGs. Nothing inline or evaluated runs, nothing is sent elsewhere, no page may frame it.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

/** The few files of swagger-ui-dist the page loads; nothing else of the package is served. */
const SWAGGER_FILES: Record<string, string> = {
  "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>ShopStream API</title>
  <link rel="icon" type="image/png" href="${DOCS_PATH}/assets/favicon-32x32.png">
  <link rel="stylesheet" href="${DOCS_PATH}/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${DOCS_PATH}/assets/swagger-ui-bundle.js"></script>
  <script src="${DOCS_PATH}/assets/init.js"></script>
</body>
</html>
`;

/**
 * Starts Swagger UI on the document of this origin. "Try it" calls go to the document's server,
 * `/api` on the same origin, so they pass the same gateway, limits and token checks as the shop.
 * No validator badge (it would call validator.swagger.io).
 */
const INIT = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  displayRequestDuration: true,
  persistAuthorization: false,
});
`;

/** The document as served, and its strong ETag (its SHA-256). */
const BODY = JSON.stringify(document);
export const OPENAPI_ETAG = `"${createHash("sha256").update(BODY).digest("base64url")}"`;

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const t = tag.trim().replace(/^W\//, "");
    return t === etag || t === "*";
  });
}

const docsHeaders = (res: Response) => {
  setSecurityHeaders(res);
  res.setHeader("Content-Security-Policy", DOCS_CSP);
};

/**
 * `GET /api/openapi.json` (with an ETag: a client revalidates and gets 304 until the API
 * changes) and the interactive docs at `/api/docs`, with Swagger UI's files from the npm
 * package in this image: no CDN. Served before the rate limits and routing of `/api`: static
 * files that need no service, token or Redis.
 */
export function apiDocsRoutes(app: Express): void {
  const swaggerDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

  app.get(OPENAPI_PATH, (req, res) => {
    setSecurityHeaders(res);
    res.set({ ETag: OPENAPI_ETAG, "Cache-Control": "no-cache" });
    if (matches(req.get("if-none-match"), OPENAPI_ETAG)) {
      res.status(304).end();
      return;
    }
    res.type("application/json").send(BODY);
  });

  app.get([DOCS_PATH, `${DOCS_PATH}/`], (_req, res) => {
    docsHeaders(res);
    res.type("html").send(PAGE);
  });

  app.get(`${DOCS_PATH}/assets/init.js`, (_req, res) => {
    docsHeaders(res);
    res.type("application/javascript").send(INIT);
  });

  const assets = express.Router();
  for (const [file, type] of Object.entries(SWAGGER_FILES)) {
    assets.get(`/${file}`, (_req, res, next) => {
      docsHeaders(res);
      // The package's files change only with its version, which changes the image.
      res.set({ "Content-Type": type, "Cache-Control": "public, max-age=86400" });
      res.sendFile(join(swaggerDir, file), (err) => {
        if (err && !res.headersSent) next(err);
      });
    });
  }
  app.use(`${DOCS_PATH}/assets`, assets);
}
