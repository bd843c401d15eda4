/**
 * A consumer of the API reads the interactive docs at /api/docs in Debian's Chromium (the local
 * run, `npm run dev`'s code path; in containers the same gateway serves them), opens the catalog
 * operation and runs it against the shop's own origin, with the docs page's CSP enforced.
 */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalRun, startLocalRun } from "../../infra/src/local/run.js";
import { REPO_ROOT } from "../../infra/src/model/index.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(REPO_ROOT, "test-artifacts/browser");

let run: LocalRun;
let browser: Browser;

describe.runIf(existsSync(CHROMIUM) || process.env.CI === "true")("the API docs in a browser", () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    run = await startLocalRun({
      env: { ...process.env, LOCAL_PORT_OFFSET: "1100", LOG_LEVEL: "warn" },
      stateDir: mkdtempSync(join(tmpdir(), "shopstream-docs-")),
      isolation: `docs${process.pid}_`,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await run?.stop();
  });

  it("opens /api/docs, expands the catalog listing and runs it against this origin", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const violations: string[] = [];
    const elsewhere: string[] = [];
    page.on("console", (msg) => {
      if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
    });
    page.setDefaultTimeout(15_000);
    page.on("request", (req) => {
      if (!req.url().startsWith(run.url) && !req.url().startsWith("data:")) elsewhere.push(req.url());
    });

    try {
      await page.goto(`${run.url}/api/docs`);
      const operation = page.locator("#operations-catalog-listProducts");
      await operation.waitFor({ timeout: 15_000 });
      await operation.locator(".opblock-summary-control").click();
      await operation.locator(".try-out__btn").click();
      await operation.locator('input[placeholder="limit"]').fill("3");

      const answered = page.waitForResponse((res) => new URL(res.url()).pathname === "/api/products");
      await operation.locator("button.execute").click();
      const res = await answered;
      expect(new URL(res.url()).origin).toBe(run.url);
      expect(res.status()).toBe(200);

      // What the reader sees: the status and the products of the live answer.
      const live = operation.locator(".live-responses-table .response");
      await live.first().waitFor({ timeout: 10_000 });
      expect((await live.locator(".response-col_status").first().textContent())?.trim()).toBe("200");
      const body = (await operation.locator(".live-responses-table .microlight").first().textContent()) ?? "";
      const shown = JSON.parse(body);
      expect(shown.items).toHaveLength(3);
      expect(shown.total).toBeGreaterThanOrEqual(30);
    } finally {
      await page.screenshot({ path: join(ARTIFACTS, "api-docs.png"), fullPage: false });
    }

    expect(violations).toEqual([]);
    expect(elsewhere).toEqual([]);
    await page.close();
  }, 90_000);
});
