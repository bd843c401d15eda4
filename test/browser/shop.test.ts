/**
 * A person buys something in the storefront and an admin runs the shop, in Debian's Chromium
 * driven by playwright-core, against the local run (`npm run dev`'s code path). Screenshots go
 * to test-artifacts/browser/.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "@shopstream/infra/model";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalRun, startLocalRun } from "../../infra/src/local/run.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(REPO_ROOT, "test-artifacts/browser");
const ADMIN_PASSWORD = "Browser-test-admin-1";

let run: LocalRun;
let browser: Browser;

// A journey is several steps, each with its own upper bound (a sign-in hashes with argon2, a payment
// arrives asynchronously). The journey's bound is their sum, not the suite's 30 s default: on a busy
// two-core CI machine a journey that takes 10 s on a quiet one legitimately takes three times that.
const JOURNEY_MS = 120_000;

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Outside CI a machine without Chromium skips this file; in CI its absence is a failure.
describe.runIf(existsSync(CHROMIUM) || process.env.CI === "true")("the storefront in a browser", () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    run = await startLocalRun({
      env: {
        ...process.env,
        LOCAL_PORT_OFFSET: "1000",
        LOG_LEVEL: "warn",
        SHOPSTREAM_ADMIN_EMAIL: "admin@browser.test",
        SHOPSTREAM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      },
      stateDir: mkdtempSync(join(tmpdir(), "shopstream-browser-")),
      // Its own databases, keys and queues, even beside another run of this file.
      isolation: `browser${process.pid}_`,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await run?.stop();
  });

  /** Signs a new customer up in `page` and returns once the storefront shows them signed in. */
  async function signUp(page: Page) {
    await page.goto(`${run.url}/#/signup`);
    await page.getByTestId("auth-name").fill("Browser Buyer");
    await page.getByTestId("auth-email").fill(`buyer-${randomUUID()}@browser.test`);
    await page.getByTestId("auth-password").fill("a-long-password-1");
    await page.getByTestId("auth-submit").click();
    await expect.poll(() => page.getByTestId("sign-out").isVisible(), { timeout: 10_000 }).toBe(true);
  }

  /** Buys the first product of the catalog with tok_visa in `page`; returns the order id once paid. */
  async function buyFirstProduct(page: Page, screenshots = false): Promise<string> {
    await page.goto(`${run.url}/#/`);
    await page.getByTestId("product-card").first().waitFor();
    await page.getByTestId("product-card").first().getByTestId("add-to-cart").click();
    await expect
      .poll(() => page.getByTestId("cart-count").getAttribute("data-count"), { timeout: 10_000 })
      .toBe("1");

    await page.getByTestId("nav-cart").click();
    await page.getByTestId("cart-item").first().waitFor();
    await page.getByTestId("payment-token").selectOption("tok_visa");
    if (screenshots) await shot(page, "02-cart");
    await page.getByTestId("checkout-button").click();
    await page.getByTestId("order-detail").waitFor({ timeout: 15_000 });
    const orderId = (await page.getByTestId("order-detail").getAttribute("data-order-id")) ?? "";
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);
    // The payment happens asynchronously; the status changes in place over the WebSocket.
    await expect
      .poll(() => page.getByTestId("order-status").first().getAttribute("data-status"), { timeout: 20_000 })
      .toBe("paid");
    return orderId;
  }

  it("finds products by search and sorts the results by name through the real product API", {
    timeout: JOURNEY_MS,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${run.url}/#/`);
    await page.getByTestId("product-card").first().waitFor();
    expect(await page.getByTestId("product-card").count()).toBeGreaterThanOrEqual(12);
    await shot(page, "01-catalog");

    await page.getByTestId("search-input").fill("set");
    await page.locator("#search-sort").selectOption("name");
    await page.getByTestId("search-submit").click();
    // Wait for what the step caused: the query in the URL, then a result list that answers it
    // (the list marks which query its items answer; the unfiltered list answers another one).
    const query = "#/?q=set&sort=name";
    await expect.poll(() => new URL(page.url()).hash, { timeout: 10_000 }).toBe(query);
    const results = page.locator(`[data-testid="results"][data-answers="${query}"]`);
    await results.waitFor({ timeout: 10_000 });
    // Any 4xx from the product API would show an error message instead.
    expect(await page.getByTestId("error-message").count()).toBe(0);
    const names = await results.getByTestId("product-link").allTextContents();
    // The three demo products named "… Set", in name order (best match would rank them otherwise).
    expect(names.filter((n) => / Set$/.test(n))).toEqual([
      "Adjustable Dumbbell Set",
      "Pour-Over Coffee Set",
      "Resistance Bands Set",
    ]);
    expect([...names].sort((a, b) => a.localeCompare(b))).toEqual(names);
    await page.close();
  });

  it("lets a new customer sign up, fill a cart, pay with tok_visa and see the order turn paid live", {
    timeout: JOURNEY_MS,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    page.on("dialog", (d) => void d.accept());
    await signUp(page);
    await buyFirstProduct(page, true);
    await shot(page, "03-order-paid");
    await page.close();
  });

  it("lets the admin create and edit a product and ship the customer's order", {
    timeout: JOURNEY_MS,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("dialog", (d) => void d.accept());
    await page.goto(`${run.url}/#/signin`);
    await page.getByTestId("auth-email").fill("admin@browser.test");
    await page.getByTestId("auth-password").fill(ADMIN_PASSWORD);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("nav-admin").waitFor({ timeout: 10_000 });

    await page.goto(`${run.url}/#/admin/products/new`);
    const name = `Browser lamp ${Date.now()}`;
    await page.getByTestId("admin-product-name").fill(name);
    await page.getByTestId("admin-product-description").fill("A lamp made by a browser test");
    await page.getByTestId("admin-product-category").fill("Lighting");
    await page.getByTestId("admin-product-price").fill("19.90");
    await page.getByTestId("admin-product-stock").fill("7");
    await page.getByTestId("admin-product-save").click();
    await expect.poll(() => page.url(), { timeout: 10_000 }).toMatch(/#\/admin\/products\/[0-9a-f-]{36}/);
    await page.getByTestId("admin-product-price").fill("24.50");
    await page.getByTestId("admin-product-save").click();
    await shot(page, "04-admin-product");

    const search = await fetch(`${run.url}/api/products?q=${encodeURIComponent("Browser lamp")}&limit=50`);
    const found = (await search.json()) as { items: { name: string; priceCents: number }[] };
    expect(found.items.find((p) => p.name === name)?.priceCents).toBe(2450);

    // The admin's own customer, in a browser context of their own, with an order just paid.
    const customerContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const customer = await customerContext.newPage();
    await signUp(customer);
    const orderId = await buyFirstProduct(customer);

    await page.goto(`${run.url}/#/admin/orders`);
    const row = page.locator(`[data-testid="admin-order-row"][data-order-id="${orderId}"]`);
    await row.waitFor({ timeout: 10_000 });
    await row.getByTestId("mark-shipped").click();
    await expect
      .poll(() => row.getByTestId("order-status").getAttribute("data-status"), { timeout: 10_000 })
      .toBe("shipped");
    await shot(page, "05-admin-orders");

    await expect
      .poll(() => customer.getByTestId("order-status").first().getAttribute("data-status"), {
        timeout: 15_000,
      })
      .toBe("shipped");
    await shot(customer, "06-customer-sees-shipped");
    await customerContext.close();
  });
});
