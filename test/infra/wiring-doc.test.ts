import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TARGETS, WIRING_DOC, wiringCommand, wiringDoc } from "../../scripts/wiring.js";
import { APP_SERVICES, DESIGN_PARTS } from "../support/design.js";

describe("docs/wiring.md", () => {
  it("is what `npm run wiring -- --doc` generates from the model", () => {
    // On a mismatch, run `npm run wiring -- --doc` and commit the result.
    expect(readFileSync(WIRING_DOC, "utf8")).toBe(wiringDoc());
  });
});

describe("npm run wiring", () => {
  it.for(TARGETS)(
    "prints the env, files, networks, ports and policies of every app service on %s",
    (target) => {
      for (const service of APP_SERVICES) {
        const { code, out } = wiringCommand([service, "--target", target]);
        expect(code, out).toBe(0);
        expect(out).toContain(`### ${service} on ${target}`);
        for (const part of ["env:", "files:", "networks:", "ports:", "policies:"])
          expect(out).toContain(part);
        expect(out).toMatch(/^PORT=\d+$/m);
      }
    },
  );

  it("prints the third-party workloads of the stacks too", () => {
    for (const name of DESIGN_PARTS) {
      const { code, out } = wiringCommand([name, "--target", "kubernetes"]);
      expect(code, out).toBe(0);
    }
  });

  it("shows where secrets are, never their values", () => {
    const { out } = wiringCommand(["auth", "--target", "docker"]);
    expect(out).toMatch(/^JWT_SIGNING_KEY_FILE=\/run\/secrets\/jwt-signing-key$/m);
    expect(out).not.toMatch(/BEGIN PRIVATE KEY/);
  });

  it("shows the Kubernetes NetworkPolicy flows: order is reached by the gateway and never reaches Redis", () => {
    const { out } = wiringCommand(["order", "--target", "kubernetes"]);
    expect(out).toMatch(/^- NetworkPolicy ingress: .*gateway on 3004/m);
    expect(out).not.toMatch(/redis/i);
  });

  it("names the workloads it knows when asked for another, and shows its usage without one", () => {
    const unknown = wiringCommand(["nosuch", "--target", "docker"]);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/no workload nosuch on docker \(known: .*gateway/);
    expect(wiringCommand(["order", "--target", "swarm"]).code).toBe(2);
    expect(wiringCommand([]).code).toBe(2);
  });
});
