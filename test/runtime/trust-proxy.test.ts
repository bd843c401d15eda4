/**
 * Who may tell a service the client's address. A client that connects directly and sends its own
 * X-Forwarded-For must not pick its address (its rate limits, auth's login throttle); the edge,
 * named by TRUST_PROXY, may.
 */
import type { AddressInfo } from "node:net";
import {
  clientAddressOf,
  createHttpApp,
  createLogger,
  createMetrics,
  trustedProxies,
} from "@shopstream/runtime";
import { afterEach, describe, expect, it } from "vitest";

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  delete process.env.TRUST_PROXY;
});

/** A service whose only route answers with the client address Express computed (`req.ip`). */
async function serviceTrusting(trustProxy: string | undefined): Promise<string> {
  if (trustProxy === undefined) delete process.env.TRUST_PROXY;
  else process.env.TRUST_PROXY = trustProxy;
  const app = createHttpApp({
    name: "trust-test",
    logger: createLogger("trust-test", "silent"),
    metrics: createMetrics("trust_test"),
    readiness: {},
    routes: (a) => a.get("/whoami", (req, res) => res.json({ ip: req.ip })),
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const whoami = async (base: string, forwardedFor?: string) => {
  const res = await fetch(`${base}/whoami`, {
    headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {},
  });
  return ((await res.json()) as { ip: string }).ip;
};

describe("TRUST_PROXY", () => {
  it("ignores X-Forwarded-For from a client that is not the edge", async () => {
    // The edge is elsewhere (192.0.2.10); this client connects from 127.0.0.1 and lies.
    const base = await serviceTrusting("192.0.2.10");
    expect(await whoami(base, "203.0.113.7")).toBe("127.0.0.1");
    expect(await whoami(base, "203.0.113.7, 192.0.2.10")).toBe("127.0.0.1");
  });

  it("takes the client from X-Forwarded-For when the edge connects", async () => {
    const base = await serviceTrusting("127.0.0.1/32");
    expect(await whoami(base, "203.0.113.7")).toBe("203.0.113.7");
    // Only the hop the edge added counts: what the client sent before it is not believed.
    expect(await whoami(base, "198.51.100.1, 203.0.113.7")).toBe("203.0.113.7");
  });

  it("resolves an edge named by DNS, and trusts nobody with `none`", async () => {
    const trusted = trustedProxies("dns:localhost");
    await expect.poll(() => trusted("127.0.0.1", 0)).toBe(true);
    trusted.close();
    expect(await whoami(await serviceTrusting("none"), "203.0.113.7")).toBe("127.0.0.1");
  });

  it("defaults to loopback, never to every private range", async () => {
    const trusted = trustedProxies(undefined);
    expect(trusted("127.0.0.1", 0)).toBe(true);
    expect(trusted("10.0.0.5", 0)).toBe(false);
    expect(trusted("::ffff:172.18.0.3", 0)).toBe(false);
    trusted.close();
  });

  it("refuses a setting it cannot read", () => {
    expect(() => trustedProxies("traefik")).toThrow(/TRUST_PROXY/);
  });

  it("computes the WebSocket upgrade's client the same way", () => {
    const edge = trustedProxies("10.0.0.2");
    expect(clientAddressOf("10.0.0.2", "203.0.113.7", edge)).toBe("203.0.113.7");
    expect(clientAddressOf("10.0.0.9", "203.0.113.7", edge)).toBe("10.0.0.9");
    expect(clientAddressOf("::ffff:10.0.0.2", ["198.51.100.1, 203.0.113.7"], edge)).toBe("203.0.113.7");
    edge.close();
  });
});
