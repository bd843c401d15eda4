import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPlatform, localSettings, renderEnv, type Workload } from "@shopstream/infra/model";
import { loadConfig } from "@shopstream/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { rateLimitsOf } from "../../infra/src/local/run.js";
import { configSchema as gatewayConfig } from "../../services/gateway/src/config.js";
import { configSchema as orderConfig } from "../../services/order/src/config.js";
import { CART_REMOVAL_TIMEOUT_MS } from "../../services/order/src/data-access/cart-client.js";

// The gateway must not give up on a checkout the order service is still working on: its
// checkout timeout is computed here from the order service's own settings, as the model renders
// them, so a change to either side that breaks the fit fails this test.

const secrets = mkdtempSync(join(tmpdir(), "shopstream-checkout-timeout-"));
afterAll(() => rmSync(secrets, { recursive: true, force: true }));

function configOf<S extends Parameters<typeof loadConfig>[0]>(name: string, schema: S) {
  const platform = buildPlatform(localSettings());
  const workload = platform.workloads.find((w: Workload) => w.name === name)!;
  const env = renderEnv(platform, workload, {
    host: () => "127.0.0.1",
    port: () => 1,
    secretPath: (secret) => {
      const file = join(secrets, secret);
      writeFileSync(file, "x");
      return file;
    },
  });
  return loadConfig(schema, env);
}

describe("the gateway's checkout timeout", () => {
  it("outlasts every wait of the order service's checkout, and ends with its Idempotency-Key lease", () => {
    const order = configOf("order", orderConfig);
    const gateway = configOf("gateway", gatewayConfig);
    // Waits for the key and for the buyer's lease; reading the cart, reserving stock and
    // releasing it again when the order cannot be written; emptying the cart afterwards.
    const worstCase = 2 * order.IDEMPOTENCY_WAIT_MS + 3 * order.UPSTREAM_TIMEOUT_MS + CART_REMOVAL_TIMEOUT_MS;
    expect(gateway.CHECKOUT_TIMEOUT_MS).toBeGreaterThan(worstCase);
    expect(gateway.CHECKOUT_TIMEOUT_MS).toBeGreaterThan(gateway.UPSTREAM_TIMEOUT_MS);
    // Past the lease the order service itself considers the checkout abandoned.
    expect(gateway.CHECKOUT_TIMEOUT_MS).toBeLessThanOrEqual(order.IDEMPOTENCY_LEASE_MS);
  });
});

describe("lifting the rate limits for a load test", () => {
  it("raises the gateway's limits only when the settings say so (LOCAL_RATE_LIMITS=off)", () => {
    expect(rateLimitsOf({ LOCAL_RATE_LIMITS: "off" })).toBe("lifted");
    expect(rateLimitsOf({})).toBe("enforced");
    expect(() => rateLimitsOf({ LOCAL_RATE_LIMITS: "no" })).toThrow(/LOCAL_RATE_LIMITS must be on or off/);
    const lifted = buildPlatform(localSettings({ rateLimits: "lifted" }));
    const normal = buildPlatform(localSettings());
    const envOf = (p: typeof normal) => p.workloads.find((w) => w.name === "gateway")!.env;
    expect(envOf(lifted).RATE_LIMIT_PER_MINUTE).toBe("1000000");
    expect(envOf(lifted).AUTH_RATE_LIMIT_PER_MINUTE).toBe("1000000");
    expect(envOf(normal).RATE_LIMIT_PER_MINUTE).toBe("600");
    expect(envOf(normal).AUTH_RATE_LIMIT_PER_MINUTE).toBeUndefined();
  });
});
