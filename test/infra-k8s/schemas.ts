/**
 * Validation of Kubernetes objects against the upstream OpenAPI schemas (kubernetes-models), made
 * strict: the schemas accept unknown fields, which an API server drops or rejects, so a property
 * the schema's validator never reads is reported as unknown too.
 */

import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { IngressClass } from "kubernetes-models/networking.k8s.io/v1/IngressClass";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";

interface Model {
  prototype: { validate(): void };
  apiVersion: string;
  kind: string;
}

const MODELS: Model[] = [
  Namespace,
  ServiceAccount,
  Service,
  Secret,
  ConfigMap,
  PersistentVolumeClaim,
  Deployment,
  StatefulSet,
  DaemonSet,
  PodDisruptionBudget,
  HorizontalPodAutoscaler,
  Ingress,
  IngressClass,
  NetworkPolicy,
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
];

const BY_KIND = new Map(MODELS.map((m) => [`${m.apiVersion}/${m.kind}`, m]));

/** Whether the schemas know this object's apiVersion and kind. */
export function hasSchema(object: { apiVersion?: string; kind?: string }): boolean {
  return BY_KIND.has(`${object.apiVersion}/${object.kind}`);
}

/**
 * Validates one object against its upstream schema; throws on a missing required field, a wrong
 * type or enum value, or a field the schema does not define.
 */
export function validateObject(object: Record<string, unknown>): void {
  const model = BY_KIND.get(`${object.apiVersion}/${object.kind}`);
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  const read = new Set<string>();
  model.prototype.validate.call(watched(object, "", read));
  const unknown = unread(object, "", read);
  if (unknown.length > 0) throw new Error(`fields the schema does not define: ${unknown.join(", ")}`);
}

/** A view of `value` that records the path of every property the validator reads. */
function watched(value: unknown, path: string, read: Set<string>): unknown {
  if (value === null || typeof value !== "object") return value;
  return new Proxy(value as object, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== "string") return v;
      read.add(`${path}/${key}`);
      return watched(v, `${path}/${key}`, read);
    },
  });
}

function unread(value: unknown, path: string, read: Set<string>): string[] {
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const p = `${path}/${k}`;
    return read.has(p) ? unread(v, p, read) : [p];
  });
}
