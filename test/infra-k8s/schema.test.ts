import { beforeAll, describe, expect, it } from "vitest";
import type { StackRun } from "../infra/mocks.js";
import { K8S, kubernetesObjects, runProd } from "./prod.js";
import { hasSchema, validateObject } from "./schemas.js";

let run: StackRun;
let acme: StackRun;

beforeAll(async () => {
  run = await runProd();
  // The other TLS mode and exposure: Traefik's own ACME resolver on one replica and a claim, a NodePort.
  acme = await runProd({
    tls: { mode: "acme", acmeEmail: "ops@example.com" },
    kubernetes: { namespace: "shop", serviceType: "NodePort", storageClass: "fast-ssd" },
  });
});

describe("every Kubernetes object of the prod stack", () => {
  it("is of a kind the upstream schemas know", () => {
    for (const stack of [run, acme])
      for (const r of kubernetesObjects(stack)) expect(hasSchema(r.inputs), `${r.type} ${r.name}`).toBe(true);
  });

  it("validates against the upstream Kubernetes schemas, with no field they do not define", () => {
    for (const stack of [run, acme]) {
      for (const r of kubernetesObjects(stack)) {
        expect(() => validateObject(r.inputs), `${r.type} ${r.name}`).not.toThrow();
      }
    }
  });

  it("would fail on a field an API server rejects or does not know", () => {
    const deployment = run.named(K8S.deployment, "gateway").inputs;
    const typo = structuredClone(deployment);
    typo.spec.template.spec.containers[0].readinesProbe =
      typo.spec.template.spec.containers[0].readinessProbe;
    expect(() => validateObject(typo)).toThrow("/spec/template/spec/containers/0/readinesProbe");
    const wrongType = structuredClone(deployment);
    wrongType.spec.strategy.rollingUpdate.maxUnavailable = [0];
    expect(() => validateObject(wrongType)).toThrow();
    const missing = structuredClone(run.named(K8S.networkPolicy, "shopstream-netpol-gateway").inputs);
    delete missing.spec.podSelector;
    expect(() => validateObject(missing)).toThrow("podSelector");
  });
});
