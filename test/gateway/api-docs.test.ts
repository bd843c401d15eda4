import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayService } from "../../services/gateway/src/service.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { everyUpstreamAt, startEchoUpstream, startTokenIssuer } from "./stubs.js";

const committed = JSON.parse(readFileSync("services/gateway/src/openapi/openapi.json", "utf8"));

describe("gateway: the OpenAPI document and the interactive docs", () => {
  let platform: TestPlatform;
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gw = "";

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    echo = await startEchoUpstream();
    platform = await startTestPlatform({
      label: "gateway_docs",
      services: { gateway: gatewayService },
      env: {
        gateway: {
          ...everyUpstreamAt(echo.url, issuer.jwksUrl),
        },
      },
    });
    gw = platform.url("gateway");
  });
  afterAll(async () => {
    await platform?.stop();
    await echo?.close();
    await issuer?.close();
  });

  it("serves the document at /api/openapi.json with an ETag, and 304 while it is unchanged", async () => {
    const res = await fetch(`${gw}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(committed);
    const etag = res.headers.get("etag");
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(res.headers.get("cache-control")).toBe("no-cache");

    const again = await fetch(`${gw}/api/openapi.json`, { headers: { "if-none-match": etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const other = await fetch(`${gw}/api/openapi.json`, { headers: { "if-none-match": '"old"' } });
    expect(other.status).toBe(200);
    // Nothing was proxied: the document is the gateway's own.
    expect(echo.seen.length).toBe(0);
  });

  it("serves the docs page and Swagger UI's files from this origin under a CSP opened only for them", async () => {
    const page = await fetch(`${gw}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-(inline|eval)|https?:/);
    // Every script and stylesheet the page names is served here, none from elsewhere.
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const url of urls) {
      expect(url.startsWith("/api/docs/assets/")).toBe(true);
      const asset = await fetch(`${gw}${url}`);
      expect(asset.status, url).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(10);
    }
    const bundle = await fetch(`${gw}/api/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.headers.get("content-type")).toMatch(/javascript/);
    // The rest of the API keeps its own strict policy.
    const doc = await fetch(`${gw}/api/openapi.json`);
    expect(doc.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    // Only the named files of the package are served.
    expect((await fetch(`${gw}/api/docs/assets/package.json`)).status).toBe(404);
  });
});
