/**
 * Phase 4 of `npm run images:test`: what a shopper does, through the containers: sign-up →
 * browse → cart → checkout → paid through the gateway container (journey.ts), the storefront
 * container's page, and the same purchase in Chromium behind a stand-in edge when it is installed.
 */
import { existsSync } from "node:fs";
import type { LocalSecrets } from "../../infra/src/local/provision.js";
import type { Platform, TargetResolver, Workload } from "../../infra/src/model/index.js";
import { type Edge, startEdge } from "./edge.js";
import { apiJourney, browserJourney, storefrontPage } from "./journey.js";
import { edgePort, type RunScope } from "./platform.js";
import { CHROMIUM, log, onCleanup } from "./run.js";
import { publishedPort } from "./start.js";

/** Needs every workload running. Returns what each journey found, and the edge it started. */
export async function shopperJourneys(run: {
  platform: Platform;
  workloads: Workload[];
  scope: RunScope;
  resolver: TargetResolver;
  secrets: LocalSecrets;
  logDir: string;
}): Promise<{ journey: Record<string, unknown>; edge: Edge }> {
  const { platform, workloads, scope, resolver, secrets, logDir } = run;
  const journey: Record<string, unknown> = {};
  const gateway = platform.workloads.find((w) => w.name === "gateway")!;
  const analytics = platform.workloads.find((w) => w.name === "analytics")!;
  const storefront = workloads.find((w) => w.name === "storefront")!;
  const api = await apiJourney({
    gateway: `http://127.0.0.1:${resolver.port(gateway)}`,
    analytics: `http://127.0.0.1:${resolver.port(analytics)}`,
    admin: { email: scope.adminEmail, password: secrets.admin.password },
    runId: scope.isolation.replace(/_$/, ""),
  });
  journey.api = api;
  log(
    `API journey through the gateway container: order ${api.orderId} paid (${api.steps.map((s) => `${s.step} ${s.ms} ms`).join("; ")})`,
  );
  journey.storefront = await storefrontPage(`http://127.0.0.1:${publishedPort(storefront)}`);
  log(`storefront container: GET / is the SPA, ${(journey.storefront as { asset: string }).asset} loads`);
  const edge = await startEdge(edgePort(scope), {
    api: resolver.port(gateway),
    site: publishedPort(storefront),
  });
  onCleanup("edge", () => edge.close());
  if (existsSync(CHROMIUM)) {
    const orderId = await browserJourney({ edge: edge.url, chromium: CHROMIUM, artifacts: logDir });
    journey.browser = { orderId };
    log(`Chromium through the edge: signed up, bought, order ${orderId} shown paid`);
  } else {
    journey.browser = { skipped: `no Chromium at ${CHROMIUM}` };
    log(`no Chromium at ${CHROMIUM}: the browser purchase is skipped`);
  }
  return { journey, edge };
}
