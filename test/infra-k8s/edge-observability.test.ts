import { beforeAll, describe, expect, it } from "vitest";
import { type Platform, portByName } from "../../infra/src/model/index.js";
import type { StackRun } from "../infra/mocks.js";
import { containerOf, controllerOf, K8S, type Obj, podSpecOf, prodPlatform, runProd } from "./prod.js";

const yamlName = "js-yaml";
const yaml = (await import(yamlName)) as { load(text: string): unknown };

let run: StackRun;
let acme: StackRun;
let platform: Platform;

beforeAll(async () => {
  run = await runProd();
  acme = await runProd({
    tls: { mode: "acme", acmeEmail: "ops@example.com" },
    kubernetes: { serviceType: "NodePort" },
  });
  platform = await prodPlatform();
});

/** A generated file as the workload mounting it reads it. */
function mounted(r: StackRun, file: string): Obj {
  const cm = r.ofType(K8S.configMap).find((c) => file in c.inputs.data);
  if (!cm) throw new Error(`no ConfigMap holds ${file}`);
  return yaml.load(cm.inputs.data[file]) as Obj;
}

const ingress = (r: StackRun, host: string) =>
  r.ofType(K8S.ingress).find((i) => i.inputs.metadata.name === host)!.inputs;
const TRAEFIK = "traefik.ingress.kubernetes.io";

describe("Traefik as the ingress controller", () => {
  it("claims its own IngressClass, which its Kubernetes Ingress provider serves in the platform's namespace", () => {
    const cls = run.ofType(K8S.ingressClass)[0]!.inputs;
    expect(cls.metadata.name).toBe("shopstream-prod");
    expect(cls.spec).toEqual({ controller: "traefik.io/ingress-controller" });
    const staticConfig = mounted(run, "traefik-static");
    expect(staticConfig.providers.kubernetesIngress).toEqual({
      ingressClass: "shopstream-prod",
      namespaces: ["shopstream"],
      ingressEndpoint: { publishedService: "shopstream/traefik-public" },
    });
    // Routes live in Ingress objects; the file provider keeps the middlewares and the dashboard.
    const dynamic = mounted(run, "traefik-dynamic");
    expect(Object.keys(dynamic.http.routers)).toEqual(["traefik"]);
    expect(dynamic.http.routers.traefik).toMatchObject({ entryPoints: ["admin"], service: "api@internal" });
    expect(dynamic.http.services ?? {}).toEqual({});
    expect(Object.keys(dynamic.http.middlewares).sort()).toEqual([
      "admin-auth",
      "compress",
      "security-headers",
    ]);
  });

  it("may read what its provider needs: IngressClasses and nodes cluster-wide, the rest in its namespace only", () => {
    const clusterRole = run.ofType(K8S.clusterRole)[0]!.inputs;
    expect(clusterRole.rules.flatMap((r: Obj) => r.resources).sort()).toEqual(["ingressclasses", "nodes"]);
    for (const rule of clusterRole.rules as Obj[]) expect(rule.verbs).toEqual(["get", "list", "watch"]);
    const role = run
      .ofType(K8S.role)
      .find((r) => r.inputs.metadata.name === "traefik-ingress-controller")!.inputs;
    expect(role.metadata.namespace).toBe("shopstream");
    const granted = (role.rules as Obj[]).flatMap((r) =>
      r.resources.map((res: string) => `${res}:${r.verbs.join(",")}`),
    );
    expect(granted.sort()).toEqual([
      "endpointslices:list,watch",
      "ingresses/status:update",
      "ingresses:get,list,watch",
      "secrets:get,list,watch",
      "services:get,list,watch",
    ]);
    const subject = { kind: "ServiceAccount", name: "traefik", namespace: "shopstream" };
    expect(run.ofType(K8S.clusterRoleBinding)[0]!.inputs.subjects).toEqual([subject]);
    expect(
      run.ofType(K8S.roleBinding).find((r) => r.inputs.metadata.name === "traefik-ingress-controller")!.inputs
        .subjects,
    ).toEqual([subject]);
  });

  it("is reached from outside through a load balancer on 80 and 443, keeping the client's address", () => {
    const svc = run.named(K8S.service, "shopstream-edge-public").inputs;
    expect(svc.spec.type).toBe("LoadBalancer");
    expect(svc.spec.externalTrafficPolicy).toBe("Local");
    expect(svc.spec.ports.map((p: Obj) => [p.port, p.targetPort])).toEqual([
      [80, "web"],
      [443, "websecure"],
    ]);
    // Every other Service stays inside the cluster.
    for (const s of run
      .ofType(K8S.service)
      .filter((x) => x !== run.named(K8S.service, "shopstream-edge-public")))
      expect(s.inputs.spec.type, s.name).toBe("ClusterIP");
  });

  it("routes the storefront at /, the API at /api and Grafana, from the model's routes, over HTTPS only", () => {
    const app = ingress(run, "app");
    expect(app.spec.ingressClassName).toBe("shopstream-prod");
    expect(app.spec.rules).toEqual([
      {
        host: "shop.example.com",
        http: {
          paths: [
            {
              path: "/api",
              pathType: "Prefix",
              backend: { service: { name: "gateway", port: { name: "http" } } },
            },
            {
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "storefront", port: { name: "http" } } },
            },
          ],
        },
      },
    ]);
    expect(ingress(run, "grafana").spec.rules[0].host).toBe("grafana.shop.example.com");
    for (const i of run.ofType(K8S.ingress)) {
      expect(i.inputs.metadata.annotations[`${TRAEFIK}/router.entrypoints`]).toBe("websecure");
      for (const path of i.inputs.spec.rules[0].http.paths as Obj[]) {
        const target = platform.workloads.find((w) => w.name === path.backend.service.name)!;
        expect(() => portByName(target, path.backend.service.port.name)).not.toThrow();
      }
    }
  });

  it("puts the dashboard, Prometheus and Alertmanager behind basic auth, the shop and Grafana not", () => {
    for (const host of ["traefik", "prometheus", "alertmanager"])
      expect(ingress(run, host).metadata.annotations[`${TRAEFIK}/router.middlewares`], host).toBe(
        "admin-auth@file",
      );
    for (const host of ["app", "grafana"])
      expect(ingress(run, host).metadata.annotations[`${TRAEFIK}/router.middlewares`], host).toBeUndefined();
    expect(ingress(run, "traefik").spec.rules[0].http.paths[0].backend.service).toEqual({
      name: "traefik",
      port: { name: "admin" },
    });
  });

  it("gets certificates from cert-manager's ClusterIssuer, one Secret per host", () => {
    for (const i of run.ofType(K8S.ingress)) {
      expect(i.inputs.metadata.annotations["cert-manager.io/cluster-issuer"]).toBe("letsencrypt-prod");
      expect(i.inputs.spec.tls).toEqual([
        { hosts: [i.inputs.spec.rules[0].host], secretName: `${i.inputs.metadata.name}-tls` },
      ]);
    }
  });

  it("or from its own ACME resolver, on one replica whose account and certificates outlive it", () => {
    for (const i of acme.ofType(K8S.ingress)) {
      expect(i.inputs.metadata.annotations[`${TRAEFIK}/router.tls.certresolver`]).toBe("letsencrypt");
      expect(i.inputs.metadata.annotations["cert-manager.io/cluster-issuer"]).toBeUndefined();
      expect(i.inputs.spec.tls).toBeUndefined();
      // NodePort: no load balancer writes an address into the Ingress status, so do not wait for one.
      expect(i.inputs.metadata.annotations["pulumi.com/skipAwait"]).toBe("true");
    }
    const traefik = controllerOf(acme, "traefik");
    expect(traefik.inputs.spec.replicas).toBe(1);
    expect(traefik.inputs.spec.strategy).toEqual({ type: "Recreate" });
    const claim = acme.ofType(K8S.pvc)[0]!;
    expect(claim.inputs.metadata.name).toBe("traefik-acme");
    expect(claim.protect).toBe(true);
    expect(podSpecOf(traefik).volumes).toContainEqual({
      name: "traefik-acme",
      persistentVolumeClaim: { claimName: "traefik-acme" },
    });
    expect(mounted(acme, "traefik-static").certificatesResolvers.letsencrypt.acme.email).toBe(
      "ops@example.com",
    );
    expect(acme.named(K8S.service, "shopstream-edge-public").inputs.spec.type).toBe("NodePort");
  });
});

describe("logs and metrics on Kubernetes", () => {
  it("runs Promtail on every node, reading the pods' log files read-only, in a namespace that says why it is not restricted", () => {
    const ds = controllerOf(run, "promtail");
    expect(ds.type).toBe(K8S.daemonSet);
    const spec = podSpecOf(ds);
    expect(spec.volumes).toContainEqual({
      name: "pod-logs",
      hostPath: { path: "/var/log/pods", type: "Directory" },
    });
    const c = containerOf(ds);
    expect(c.volumeMounts).toContainEqual({ name: "pod-logs", mountPath: "/var/log/pods", readOnly: true });
    expect(c.env).toContainEqual({
      name: "HOSTNAME",
      valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } },
    });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
    });
    const ns = run.named(K8S.namespace, "shopstream-node-agents").inputs.metadata;
    expect(ns.name).toBe(ds.inputs.metadata.namespace);
    expect(ns.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
    expect(ns.annotations["shopstream.io/pod-security-reason"]).toMatch(/hostPath/);
    const main = run.named(K8S.namespace, "shopstream-namespace").inputs.metadata.labels;
    expect(main["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });

  it("has Promtail discover the pods of both namespaces and ship their logs to Loki's Service", () => {
    const config = mounted(run, "promtail-config");
    expect(config.clients).toEqual([{ url: "http://loki.shopstream.svc:3100/loki/api/v1/push" }]);
    const job = config.scrape_configs[0];
    expect(job.kubernetes_sd_configs).toEqual([
      { role: "pod", namespaces: { names: ["shopstream", "shopstream-node-agents"] } },
    ]);
    expect(job.relabel_configs).toContainEqual({
      source_labels: ["__meta_kubernetes_pod_node_name"],
      target_label: "__host__",
    });
    expect(job.relabel_configs).toContainEqual(
      expect.objectContaining({ target_label: "__path__", replacement: "/var/log/pods/*$1/*.log" }),
    );
  });

  it("has Prometheus discover every scraped workload's pods and keep only the scrape port", () => {
    const config = mounted(run, "prometheus-config");
    const scraped = platform.workloads.filter((w) => w.scrape);
    expect(config.scrape_configs.map((j: Obj) => j.job_name).sort()).toEqual(
      scraped.map((w) => w.name).sort(),
    );
    for (const w of scraped) {
      const job = config.scrape_configs.find((j: Obj) => j.job_name === w.name);
      expect(job.metrics_path).toBe(w.scrape!.path);
      expect(job.kubernetes_sd_configs[0].namespaces.names).toEqual([
        w.name === "promtail" ? "shopstream-node-agents" : "shopstream",
      ]);
      expect(job.kubernetes_sd_configs[0].selectors).toEqual([
        { role: "pod", label: `app.kubernetes.io/name=${w.name},app.kubernetes.io/instance=prod` },
      ]);
      expect(job.relabel_configs[0]).toEqual({
        source_labels: ["__meta_kubernetes_pod_container_port_number"],
        regex: String(portByName(w, w.scrape!.port)),
        action: "keep",
      });
      expect(job.relabel_configs).toContainEqual({ target_label: "service", replacement: w.name });
    }
    expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual([
      "alertmanager.shopstream.svc:9093",
    ]);
  });

  it("lets Prometheus and Promtail list pods in the platform's namespaces, and nothing more", () => {
    const roles = run.ofType(K8S.role).filter((r) => r.inputs.metadata.name === "pod-discovery");
    expect(roles.map((r) => r.inputs.metadata.namespace).sort()).toEqual([
      "shopstream",
      "shopstream-node-agents",
    ]);
    for (const role of roles)
      expect(role.inputs.rules).toEqual([
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
      ]);
    for (const binding of run
      .ofType(K8S.roleBinding)
      .filter((r) => r.inputs.metadata.name === "pod-discovery")) {
      expect(binding.inputs.subjects).toEqual([
        { kind: "ServiceAccount", name: "prometheus", namespace: "shopstream" },
        { kind: "ServiceAccount", name: "promtail", namespace: "shopstream-node-agents" },
      ]);
    }
  });

  it("points Grafana at Prometheus, Loki, Tempo and Alertmanager through their Services", () => {
    const sources = mounted(run, "grafana-datasources").datasources as Obj[];
    expect(sources.map((s) => s.url)).toEqual([
      "http://prometheus.shopstream.svc:9090",
      "http://loki.shopstream.svc:3100",
      "http://tempo.shopstream.svc:3200",
      "http://alertmanager.shopstream.svc:9093",
    ]);
  });
});
