/**
 * The prod stack (Pulumi.prod.yaml, target kubernetes) under Pulumi's mocks, through the shared
 * mocks helper, plus the lookups the Kubernetes tests share.
 */
import { readFileSync } from "node:fs";
import { buildPlatform, type Platform } from "../../infra/src/model/index.js";
import { type RecordedResource, runStack, type StackRun, type StackSettings } from "../infra/mocks.js";

const yamlName = "js-yaml";
const yaml = (await import(yamlName)) as { load(text: string): unknown };

export const K8S = {
  provider: "pulumi:providers:kubernetes",
  namespace: "kubernetes:core/v1:Namespace",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  service: "kubernetes:core/v1:Service",
  secret: "kubernetes:core/v1:Secret",
  configMap: "kubernetes:core/v1:ConfigMap",
  pvc: "kubernetes:core/v1:PersistentVolumeClaim",
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
  ingressClass: "kubernetes:networking.k8s.io/v1:IngressClass",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
} as const;

export const CONTROLLERS: string[] = [K8S.deployment, K8S.statefulSet, K8S.daemonSet];

/** The settings of Pulumi.prod.yaml, as a user's `pulumi config` holds them. */
export function prodSettings(): StackSettings {
  const doc = yaml.load(readFileSync("Pulumi.prod.yaml", "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(doc.config)
      .filter(([k]) => k.startsWith("shopstream:"))
      .map(([k, v]) => [k.slice("shopstream:".length), v as StackSettings[string]]),
  );
}

/** The model the prod stack renders, built the way the program builds it. */
export async function prodPlatform(settings = prodSettings()): Promise<Platform> {
  const { parseStackConfig, platformSettings } = await import("../../infra/src/config.js");
  const raw = Object.fromEntries(
    Object.entries(settings).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]),
  );
  return buildPlatform(platformSettings(parseStackConfig(raw, "prod")));
}

export async function runProd(overrides: StackSettings = {}): Promise<StackRun> {
  return runStack({ ...prodSettings(), ...overrides }, "prod");
}

/** The controller (Deployment, StatefulSet or DaemonSet) that runs a workload. */
export function controllerOf(run: StackRun, workload: string): RecordedResource {
  const found = run.resources.filter(
    (r) => CONTROLLERS.includes(r.type) && r.inputs.metadata?.name === workload,
  );
  if (found.length !== 1) throw new Error(`${found.length} controllers for ${workload}`);
  return found[0]!;
}

// biome-ignore lint/suspicious/noExplicitAny: recorded Kubernetes inputs
export type Obj = Record<string, any>;

export function podSpecOf(r: RecordedResource): Obj {
  return r.inputs.spec.template.spec;
}

export function containerOf(r: RecordedResource): Obj {
  return podSpecOf(r).containers[0];
}

/** Every Kubernetes object of the stack (not providers or components). */
export function kubernetesObjects(run: StackRun): RecordedResource[] {
  return run.resources.filter((r) => r.type.startsWith("kubernetes:"));
}
