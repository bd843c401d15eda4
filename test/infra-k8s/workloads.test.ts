import { REPO_ROOT } from "@shopstream/infra/model";
import { beforeAll, describe, expect, it } from "vitest";
import { alertRulesYaml, businessDashboard, json } from "../../infra/src/config-files/index.js";
import {
  contentTag,
  type Platform,
  SECRETS_DIR,
  secretsOf,
  THIRD_PARTY_IMAGES,
} from "../../infra/src/model/index.js";
import type { StackRun } from "../infra/mocks.js";
import { APP_SERVICES, DESIGN_PARTS } from "../support/design.js";
import {
  CONTROLLERS,
  containerOf,
  controllerOf,
  K8S,
  type Obj,
  podSpecOf,
  prodPlatform,
  runProd,
} from "./prod.js";

const STATEFUL = ["mariadb", "redis", "rabbitmq", "minio", "elasticsearch", "prometheus", "grafana", "loki"];
const AUTOSCALED = ["cart", "gateway", "order", "product"];
/** The services' own SIGTERM drain limit (SHUTDOWN_TIMEOUT_MS default, services/runtime/src/config.ts). */
const APP_DRAIN_SECONDS = 20;

let run: StackRun;
let platform: Platform;

beforeAll(async () => {
  run = await runProd();
  platform = await prodPlatform();
});

const workload = (name: string) => platform.workloads.find((w) => w.name === name)!;

describe("the prod stack on Kubernetes", () => {
  it("runs every part of docs/architecture.md, each from one controller in the platform's namespaces", () => {
    const controllers = run.resources.filter((r) => CONTROLLERS.includes(r.type));
    expect(controllers.map((r) => r.inputs.metadata.name).sort()).toEqual([...DESIGN_PARTS].sort());
    for (const r of controllers) {
      expect(r.inputs.metadata.namespace, r.name).toBe(
        r.name === "promtail" ? "shopstream-node-agents" : "shopstream",
      );
    }
    expect(run.ofType(K8S.provider)).toHaveLength(1);
    for (const r of run.resources.filter((x) => x.type.startsWith("kubernetes:")))
      expect(r.provider, `${r.type} ${r.name}`).toMatch(/shopstream-cluster/);
  });

  it("keeps the data of MariaDB, Redis, RabbitMQ, MinIO, Elasticsearch, Prometheus, Loki and Grafana in protected StatefulSets", () => {
    for (const name of [...STATEFUL, "alertmanager"]) {
      const set = controllerOf(run, name);
      expect(set.type, name).toBe(K8S.statefulSet);
      expect(set.protect, name).toBe(true);
      const claims = (set.inputs.spec.volumeClaimTemplates as Obj[]).map((c) => ({
        name: c.metadata.name,
        size: c.spec.resources.requests.storage,
        modes: c.spec.accessModes,
      }));
      expect(claims, name).toEqual(
        workload(name).volumes.map((v) => ({
          name: v.name,
          size: `${v.sizeGi}Gi`,
          modes: ["ReadWriteOnce"],
        })),
      );
      expect(set.inputs.spec.persistentVolumeClaimRetentionPolicy).toEqual({
        whenDeleted: "Retain",
        whenScaled: "Retain",
      });
      const mounts = containerOf(set).volumeMounts as Obj[];
      for (const v of workload(name).volumes)
        expect(mounts).toContainEqual({ name: v.name, mountPath: v.mountPath });
      const headless = run.named(K8S.service, `${name}-headless`).inputs;
      expect(set.inputs.spec.serviceName).toBe(headless.metadata.name);
      expect(headless.spec.clusterIP).toBe("None");
    }
    // Deleting the namespace would take the claims with it.
    expect(run.named(K8S.namespace, "shopstream-namespace").protect).toBe(true);
  });

  it("runs the app services and the storefront as Deployments: several replicas, or autoscaled", () => {
    for (const name of [...APP_SERVICES, "storefront", "traefik"]) {
      const d = controllerOf(run, name);
      expect(d.type, name).toBe(K8S.deployment);
      if (AUTOSCALED.includes(name)) expect(d.inputs.spec.replicas, name).toBeUndefined();
      // appReplicas and kubernetes.edgeReplicas in Pulumi.prod.yaml.
      else expect(d.inputs.spec.replicas, name).toBe(2);
    }
  });

  it("gives each workload a Service on the ports it listens on", () => {
    for (const name of DESIGN_PARTS) {
      const svc = run.named(K8S.service, name).inputs;
      expect(svc.spec.selector).toEqual({
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": "prod",
      });
      expect(svc.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort])).toEqual(
        workload(name).ports.map((p) => [p.name, p.port, p.name]),
      );
    }
  });
});

describe("the posture of every app pod", () => {
  const appPods = [...APP_SERVICES, "storefront"];

  it("is ready on /ready and alive on /health (the storefront: /healthz), on its HTTP port", () => {
    for (const name of APP_SERVICES) {
      const c = containerOf(controllerOf(run, name));
      expect(c.readinessProbe.httpGet, name).toEqual({ path: "/ready", port: "http" });
      expect(c.livenessProbe.httpGet, name).toEqual({ path: "/health", port: "http" });
      expect(c.startupProbe.httpGet, name).toEqual({ path: "/health", port: "http" });
    }
    const storefront = containerOf(controllerOf(run, "storefront"));
    expect(storefront.readinessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(storefront.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
  });

  it("requests what the model sizes (scaled for prod) and is limited to it", () => {
    for (const name of appPods) {
      const { cpuMillis, memoryMiB } = workload(name).resources;
      expect(containerOf(controllerOf(run, name)).resources, name).toEqual({
        requests: { cpu: `${cpuMillis}m`, memory: `${memoryMiB}Mi` },
        limits: { cpu: `${cpuMillis * 2}m`, memory: `${memoryMiB}Mi` },
      });
    }
    // resourceScale 2 in Pulumi.prod.yaml: the gateway's 128 MiB become 256.
    expect(workload("gateway").resources.memoryMiB).toBe(256);
  });

  it("meets the restricted Pod Security Standard, with a read-only root and scratch space in memory", () => {
    for (const name of appPods) {
      const spec = podSpecOf(controllerOf(run, name));
      const [uid, gid] = workload(name).user!.split(":").map(Number);
      expect(spec.securityContext, name).toEqual({
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid,
        fsGroup: gid,
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
      });
      const c = spec.containers[0];
      expect(c.securityContext, name).toEqual({
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ["ALL"] },
        readOnlyRootFilesystem: true,
      });
      expect(spec.hostNetwork ?? false).toBe(false);
      const scratch = (c.volumeMounts as Obj[]).find((m) => m.mountPath === "/tmp");
      const volume = (spec.volumes as Obj[]).find((v) => v.name === scratch?.name);
      expect(volume?.emptyDir, name).toEqual({ medium: "Memory", sizeLimit: "64Mi" });
      expect(spec.automountServiceAccountToken, name).toBe(false);
      expect(spec.enableServiceLinks, name).toBe(false);
    }
  });

  it("rolls out without an unavailable replica and is covered by a disruption budget", () => {
    for (const name of [...appPods, "traefik"]) {
      const d = controllerOf(run, name);
      expect(d.inputs.spec.strategy, name).toEqual({
        type: "RollingUpdate",
        rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
      });
      const budget = run.named(K8S.pdb, name).inputs;
      expect(budget.metadata.namespace).toBe(d.inputs.metadata.namespace);
      expect(budget.spec.maxUnavailable).toBe(1);
      for (const [k, v] of Object.entries(budget.spec.selector.matchLabels as Record<string, string>))
        expect(d.inputs.spec.template.metadata.labels[k], name).toBe(v);
    }
    expect(
      run
        .ofType(K8S.pdb)
        .map((p) => p.name)
        .sort(),
    ).toEqual(
      run
        .ofType(K8S.deployment)
        .map((d) => d.name)
        .sort(),
    );
  });

  it("spreads its replicas across nodes and zones", () => {
    for (const name of appPods) {
      const spread = podSpecOf(controllerOf(run, name)).topologySpreadConstraints as Obj[];
      expect(
        spread.map((s) => s.topologyKey),
        name,
      ).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
      for (const s of spread) {
        expect(s.maxSkew).toBe(1);
        expect(s.labelSelector.matchLabels).toEqual({
          "app.kubernetes.io/name": name,
          "app.kubernetes.io/instance": "prod",
        });
      }
    }
  });

  it("gets a termination grace period that fits the preStop pause and the service's drain", () => {
    for (const name of appPods) {
      const spec = podSpecOf(controllerOf(run, name));
      const preStop = spec.containers[0].lifecycle.preStop.exec.command as string[];
      expect(preStop[0]).toBe("sleep");
      const pause = Number(preStop[1]);
      expect(pause).toBeGreaterThan(0);
      expect(spec.terminationGracePeriodSeconds, name).toBe(workload(name).stopGracePeriodSeconds + pause);
      if (APP_SERVICES.includes(name))
        expect(spec.terminationGracePeriodSeconds, name).toBeGreaterThanOrEqual(APP_DRAIN_SECONDS + pause);
    }
  });

  it("autoscales exactly the gateway, product, cart and order on CPU, between appReplicas and maxReplicas", () => {
    const hpas = run.ofType(K8S.hpa);
    expect(hpas.map((h) => h.inputs.metadata.name).sort()).toEqual(AUTOSCALED);
    for (const h of hpas) {
      expect(h.inputs.apiVersion).toBe("autoscaling/v2");
      expect(h.inputs.spec.scaleTargetRef).toEqual({
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: h.inputs.metadata.name,
      });
      expect(h.inputs.spec.minReplicas).toBe(2);
      expect(h.inputs.spec.maxReplicas).toBe(6);
      expect(h.inputs.spec.metrics[0].resource).toEqual({
        name: "cpu",
        target: { type: "Utilization", averageUtilization: 70 },
      });
    }
  });
});

describe("secrets, config files and images on Kubernetes", () => {
  it("never puts a generated secret in an env value, an argument or a label", () => {
    expect(run.secretValues.length).toBeGreaterThan(10);
    for (const r of run.resources.filter((x) => CONTROLLERS.includes(x.type))) {
      const c = containerOf(r);
      const visible = JSON.stringify([
        c.env,
        c.args,
        c.command,
        r.inputs.metadata,
        r.inputs.spec.template.metadata,
      ]);
      for (const secret of run.secretValues) expect(visible.includes(secret), r.name).toBe(false);
      for (const e of c.env as Obj[])
        expect(e.valueFrom?.secretKeyRef, `${r.name} ${e.name}`).toBeUndefined();
    }
  });

  it("keeps each secret in a Secret object, a Pulumi secret, mounted as /run/secrets/<name> where _FILE points", () => {
    for (const w of platform.workloads) {
      const c = containerOf(controllerOf(run, w.name));
      const spec = podSpecOf(controllerOf(run, w.name));
      const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === SECRETS_DIR);
      const names = secretsOf(w);
      if (names.length === 0) continue;
      expect(mount?.readOnly, w.name).toBe(true);
      const projected = (spec.volumes as Obj[]).find((v) => v.name === mount!.name)!.projected;
      const mounted = (projected.sources as Obj[]).flatMap((s) =>
        s.secret
          ? s.secret.items.map((i: Obj) => ({ secret: s.secret.name, path: i.path, mode: i.mode }))
          : [],
      );
      for (const name of names)
        expect(mounted, w.name).toContainEqual({ secret: name, path: name, mode: 0o440 });
      for (const e of c.env as Obj[]) {
        if (e.name.endsWith("_FILE") || e.name.endsWith("__FILE")) {
          expect(e.value.startsWith(`${SECRETS_DIR}/`), `${w.name} ${e.name}`).toBe(true);
          expect(names, `${w.name} ${e.name}`).toContain(e.value.slice(SECRETS_DIR.length + 1));
        }
      }
    }
    const secret = (name: string) => run.ofType(K8S.secret).find((x) => x.inputs.metadata.name === name)!;
    for (const name of [
      "db-password-auth",
      "jwt-signing-key",
      "redis-password-cart",
      "rabbitmq-password-payment",
      "service-key-order",
      "grafana-admin-password",
    ]) {
      expect(secret(name).secretInputs, name).toContain("stringData");
      expect(run.secretValues, name).toContain(secret(name).inputs.stringData.value);
    }
    // Files derived from secrets (a password hash, a users file) travel as Secrets too.
    for (const name of ["redis-acl", "redis-cache-acl", "rabbitmq-definitions", "traefik-users"]) {
      expect(secret(name).secretInputs, name).toContain("stringData");
      expect(Object.keys(secret(name).inputs.stringData), name).toEqual([name]);
    }
    for (const cm of run.ofType(K8S.configMap)) {
      const content = JSON.stringify(cm.inputs.data);
      for (const secret of run.secretValues) expect(content.includes(secret), cm.name).toBe(false);
    }
  });

  it("ships the files the Docker target ships, from the same generators, as content-named ConfigMaps", () => {
    const configMap = (file: string) => {
      const found = run.ofType(K8S.configMap).filter((c) => file in c.inputs.data);
      expect(found, file).toHaveLength(1);
      expect(found[0]!.inputs.metadata.name).toMatch(new RegExp(`^${file}-[0-9a-f]{10}$`));
      return found[0]!.inputs.data[file] as string;
    };
    expect(configMap("prometheus-alerts")).toBe(alertRulesYaml());
    expect(configMap("grafana-dashboard-business")).toBe(json(businessDashboard()));
    const files = platform.workloads.flatMap((w) =>
      w.configFiles.filter((f) => !f.secret).map((f) => f.name),
    );
    for (const file of files) configMap(file);
  });

  it("runs service images pushed to the registry, pinned by content tag and digest, pulled only if absent", async () => {
    const images = run.outputs.images as Record<string, string>;
    for (const w of platform.workloads) {
      const c = containerOf(controllerOf(run, w.name));
      expect(c.imagePullPolicy, w.name).toBe("IfNotPresent");
      expect(c.image, w.name).toBe(images[w.name]);
      if (w.image.kind === "build") {
        const tag = contentTag(
          REPO_ROOT,
          w.image.sources ?? [w.image.dockerfile],
          w.image.args,
          w.image.dockerfile,
        );
        expect(c.image).toMatch(
          new RegExp(`^ghcr\\.io/example/shopstream/${w.name}:${tag}@sha256:[0-9a-f]{64}$`),
        );
        const built = run.named("docker:index/image:Image", `shopstream-${w.name}-image`).inputs;
        expect(built.skipPush).toBe(false);
        expect(built.registry.server).toBe("ghcr.io/example/shopstream");
      } else if (w.image.kind === "third-party") {
        expect(c.image).toBe(THIRD_PARTY_IMAGES[w.image.image]);
      } else {
        expect(c.image).toBe(w.image.ref);
      }
    }
  });

  it("hands an API token only to the pods that read the API: the edge, Prometheus and Promtail", () => {
    const withToken = run.resources
      .filter((r) => CONTROLLERS.includes(r.type) && podSpecOf(r).automountServiceAccountToken === true)
      .map((r) => r.name)
      .sort();
    expect(withToken).toEqual(["prometheus", "promtail", "traefik"]);
    for (const sa of run.ofType(K8S.serviceAccount))
      expect(sa.inputs.automountServiceAccountToken).toBe(false);
  });
});
