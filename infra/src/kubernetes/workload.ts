import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Workload } from "../model/index.js";
import { workloadLabels } from "./naming.js";
import type { PodOptions } from "./render.js";
import {
  autoscalerSpec,
  controllerKind,
  daemonSetSpec,
  deploymentSpec,
  disruptionBudgetSpec,
  serviceSpec,
  statefulSetSpec,
} from "./render.js";

export interface KubernetesWorkloadArgs {
  workload: Workload;
  namespace: pulumi.Input<string>;
  pod: PodOptions;
  storageClass?: string;
  /** Pull secrets for the registry the service images come from. */
  imagePullSecrets: pulumi.Input<string>[];
  /** Keep the stateful set (and so its claims) from `pulumi destroy`. */
  protect: boolean;
  /** A single pod on a claim only one node can mount: replace it instead of surging. */
  recreate?: boolean;
}

/**
 * One workload of the model on Kubernetes: its ServiceAccount, its Service, and its controller: a
 * StatefulSet with claim templates for a stateful part, a DaemonSet for the log collector, or a
 * Deployment with a PodDisruptionBudget and, when the model autoscales it, an autoscaler.
 */
export class KubernetesWorkload extends pulumi.ComponentResource {
  readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: KubernetesWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shopstream:k8s:Workload", name, {}, opts);
    const { workload: w, namespace } = args;
    const environment = args.pod.platform.settings.environment;
    const metadata = (objectName: string) => ({
      name: objectName,
      namespace,
      labels: workloadLabels(w, environment),
    });
    const child = { parent: this };

    const account = new k8s.core.v1.ServiceAccount(
      name,
      {
        metadata: metadata(w.name),
        // Pods that read the API opt in (PodOptions.apiClient); no other pod holds a token.
        automountServiceAccountToken: false,
        imagePullSecrets: args.imagePullSecrets.map((n) => ({ name: n })),
      },
      child,
    );
    const service = new k8s.core.v1.Service(
      name,
      { metadata: metadata(w.name), spec: serviceSpec(w, environment) },
      child,
    );
    const after = { ...child, dependsOn: [account] };

    switch (controllerKind(w)) {
      case "StatefulSet": {
        const headless = new k8s.core.v1.Service(
          `${name}-headless`,
          { metadata: metadata(`${w.name}-headless`), spec: serviceSpec(w, environment, true) },
          child,
        );
        new k8s.apps.v1.StatefulSet(
          name,
          {
            metadata: metadata(w.name),
            spec: statefulSetSpec(w, {
              ...args.pod,
              serviceName: headless.metadata.name,
              ...(args.storageClass ? { storageClass: args.storageClass } : {}),
            }),
          },
          { ...after, protect: args.protect },
        );
        break;
      }
      case "DaemonSet":
        new k8s.apps.v1.DaemonSet(
          name,
          { metadata: metadata(w.name), spec: daemonSetSpec(w, args.pod) },
          after,
        );
        break;
      case "Deployment": {
        const deployment = new k8s.apps.v1.Deployment(
          name,
          { metadata: metadata(w.name), spec: deploymentSpec(w, args.pod, args.recreate) },
          after,
        );
        new k8s.policy.v1.PodDisruptionBudget(
          name,
          { metadata: metadata(w.name), spec: disruptionBudgetSpec(w, environment) },
          child,
        );
        const autoscaler = autoscalerSpec(w);
        if (autoscaler) {
          new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            name,
            { metadata: metadata(w.name), spec: autoscaler },
            { ...child, dependsOn: [deployment] },
          );
        }
        break;
      }
    }
    this.serviceName = service.metadata.name;
    this.registerOutputs({ serviceName: this.serviceName });
  }
}
