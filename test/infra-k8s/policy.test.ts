import { beforeAll, describe, expect, it } from "vitest";
import {
  evaluateKubernetes,
  KUBERNETES_RESOURCE_RULES,
  KUBERNETES_STACK_RULES,
} from "../../policy/kubernetes.js";
import { evaluate, type ResourceInputs } from "../../policy/rules.js";
import type { RecordedResource } from "../infra/mocks.js";
import { K8S, type Obj, runProd } from "./prod.js";

const asInputs = (r: RecordedResource): ResourceInputs => ({ type: r.type, name: r.name, props: r.inputs });

let prod: ResourceInputs[];

beforeAll(async () => {
  prod = (await runProd()).resources.map(asInputs);
});

/** A deep copy of the graph with one resource changed. */
function broken(name: string, type: string, change: (props: Obj) => void): ResourceInputs[] {
  const copy = structuredClone(prod);
  const target = copy.find((r) => r.name === name && r.type === type);
  if (!target) throw new Error(`no ${type} ${name}`);
  change(target.props);
  return copy;
}

const container = (p: Obj) => p.spec.template.spec.containers[0];

describe("the policy pack on the prod stack", () => {
  it("finds nothing to object to, Docker and Kubernetes rules alike", () => {
    expect(evaluateKubernetes(prod)).toEqual([]);
    expect(evaluate(prod)).toEqual([]);
  });

  it("registers every Kubernetes rule under its own name", () => {
    const names = [...Object.keys(KUBERNETES_RESOURCE_RULES), ...Object.keys(KUBERNETES_STACK_RULES)];
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => n.startsWith("k8s-"))).toBe(true);
  });

  const cases: [rule: string, name: string, type: string, change: (p: Obj) => unknown][] = [
    [
      "k8s-pod-security",
      "gateway",
      K8S.deployment,
      (p) => (p.spec.template.spec.securityContext.runAsNonRoot = false),
    ],
    [
      "k8s-pod-security",
      "order",
      K8S.deployment,
      (p) => (container(p).securityContext.allowPrivilegeEscalation = true),
    ],
    [
      "k8s-pod-security",
      "auth",
      K8S.deployment,
      (p) => (container(p).securityContext.capabilities = { add: ["SYS_ADMIN"] }),
    ],
    [
      "k8s-pod-security",
      "mariadb",
      K8S.statefulSet,
      (p) => delete p.spec.template.spec.securityContext.seccompProfile,
    ],
    [
      "k8s-pod-security",
      "cart",
      K8S.deployment,
      (p) => p.spec.template.spec.volumes.push({ name: "host", hostPath: { path: "/etc" } }),
    ],
    ["k8s-pod-security", "promtail", K8S.daemonSet, (p) => (container(p).securityContext.privileged = true)],
    [
      "k8s-namespace-pod-security",
      "shopstream-node-agents",
      K8S.namespace,
      (p) => delete p.metadata.annotations["shopstream.io/pod-security-reason"],
    ],
    ["k8s-resources", "product", K8S.deployment, (p) => delete container(p).resources.limits],
    ["k8s-resources", "redis", K8S.statefulSet, (p) => delete container(p).resources.requests.cpu],
    ["k8s-pinned-images", "storefront", K8S.deployment, (p) => (container(p).image = "nginx:latest")],
    ["k8s-pinned-images", "loki", K8S.statefulSet, (p) => (container(p).image = "grafana/loki")],
    [
      "k8s-no-plain-secret-env",
      "auth",
      K8S.deployment,
      (p) => container(p).env.push({ name: "JWT_SIGNING_KEY", value: "-----BEGIN PRIVATE KEY-----" }),
    ],
    [
      "k8s-no-plain-secret-env",
      "mariadb",
      K8S.statefulSet,
      (p) => container(p).env.push({ name: "MARIADB_ROOT_PASSWORD", value: "hunter2" }),
    ],
    ["k8s-probes", "payment", K8S.deployment, (p) => delete container(p).readinessProbe],
    [
      "k8s-disruption-budgets",
      "analytics",
      K8S.pdb,
      (p) => (p.spec.selector.matchLabels = { "app.kubernetes.io/name": "someone-else" }),
    ],
  ];

  it.each(cases)("fails %s on a deliberately broken copy of the graph (%s)", (rule, name, type, change) => {
    const violations = evaluateKubernetes(broken(name, type, change));
    expect(violations.length).toBeGreaterThan(0);
    expect(
      violations.every((v) => v.startsWith(`${rule}: `)),
      violations.join("\n"),
    ).toBe(true);
  });

  it("names what is wrong", () => {
    expect(
      evaluateKubernetes(broken("gateway", K8S.pdb, (p) => (p.metadata.namespace = "elsewhere"))),
    ).toEqual(["k8s-disruption-budgets: deployment gateway is covered by no PodDisruptionBudget"]);
    expect(
      evaluateKubernetes(
        broken("cart", K8S.deployment, (p) => (container(p).securityContext.readOnlyRootFilesystem = false)),
      ),
    ).toEqual(["k8s-pod-security: cart/cart is an app container without a read-only root filesystem"]);
    expect(
      evaluateKubernetes(broken("storefront", K8S.deployment, (p) => (container(p).image = "nginx:latest"))),
    ).toEqual([
      "k8s-pinned-images: storefront/storefront uses nginx:latest: pin an exact tag or digest (never latest)",
    ]);
  });

  it("holds a pod in a restricted namespace to restricted, even if it would pass in the node agents' namespace", () => {
    const moved = broken("promtail", K8S.daemonSet, (p) => (p.metadata.namespace = "shopstream"));
    const violations = evaluateKubernetes(moved);
    expect(violations).toContain("k8s-pod-security: promtail mounts a hostPath volume (pod-logs)");
    expect(violations).toContain("k8s-pod-security: promtail/promtail may run as root (runAsNonRoot)");
  });
});
