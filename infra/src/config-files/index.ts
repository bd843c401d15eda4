/**
 * Configuration of the third-party parts, generated from the platform model as plain strings, so
 * every target ships the same files (uploaded files or Docker configs here, ConfigMaps and Secrets
 * on Kubernetes). Files that embed secret material are rendered from secret values by
 * `renderSecretFiles`, the others by `renderConfigFiles`.
 */
import type { Platform, SecretName } from "../model/index.js";
import type { ConfigFileContext } from "./context.js";
import {
  businessDashboard,
  grafanaDashboardProviderYaml,
  grafanaDatasourcesYaml,
  json,
  logsDashboard,
  overviewDashboard,
} from "./grafana.js";
import { lokiYaml, promtailYaml } from "./logs.js";
import { mariadbInitScript } from "./mariadb.js";
import { alertmanagerYaml, alertRulesYaml, prometheusYaml } from "./prometheus.js";
import { rabbitmqConf, rabbitmqDefinitions } from "./rabbitmq.js";
import { redisAcl } from "./redis.js";
import { tempoYaml } from "./tempo.js";
import { traefikDynamicYaml, traefikStaticYaml, traefikUsersFile } from "./traefik.js";

export * from "./context.js";
export * from "./grafana.js";
export * from "./logs.js";
export * from "./mariadb.js";
export * from "./prometheus.js";
export * from "./rabbitmq.js";
export * from "./redis.js";
export * from "./tempo.js";
export * from "./traefik.js";
export { toYaml } from "./yaml.js";

const GENERATORS: Record<string, (ctx: ConfigFileContext) => string> = {
  "mariadb-init": (ctx) => mariadbInitScript(ctx.platform),
  "rabbitmq-conf": (ctx) => rabbitmqConf(ctx.platform),
  "traefik-static": traefikStaticYaml,
  "traefik-dynamic": traefikDynamicYaml,
  "prometheus-config": prometheusYaml,
  "prometheus-alerts": () => alertRulesYaml(),
  "alertmanager-config": () => alertmanagerYaml(),
  "grafana-datasources": grafanaDatasourcesYaml,
  "grafana-dashboards": grafanaDashboardProviderYaml,
  "grafana-dashboard-overview": (ctx) => json(overviewDashboard(ctx)),
  "grafana-dashboard-business": () => json(businessDashboard()),
  "grafana-dashboard-logs": (ctx) => json(logsDashboard(ctx)),
  "loki-config": lokiYaml,
  "promtail-config": promtailYaml,
  "tempo-config": tempoYaml,
};

/** The secret values the secret files are derived from. */
export interface SecretFileInputs {
  /** The services' broker and Redis passwords, by secret name (`servicePasswordSecrets`). */
  passwords: Partial<Record<SecretName, string>>;
  /** bcrypt hash of the operators' basic-auth password. */
  dashboardPasswordBcrypt: string;
}

/** The secrets the broker definitions and the Redis ACL are derived from. */
export function servicePasswordSecrets(platform: Platform): SecretName[] {
  return platform.workloads.flatMap((w) => [
    ...(w.broker ? [w.broker.passwordSecret] : []),
    ...(w.redis ?? []).map((r) => r.passwordSecret),
  ]);
}

const SECRET_GENERATORS: Record<string, (platform: Platform, s: SecretFileInputs) => string> = {
  "rabbitmq-definitions": (platform, s) => rabbitmqDefinitions(platform, s.passwords),
  "redis-acl": (platform, s) => redisAcl(platform, "redis", s.passwords),
  "redis-cache-acl": (platform, s) => redisAcl(platform, "redis-cache", s.passwords),
  "traefik-users": (_, s) => traefikUsersFile(s.dashboardPasswordBcrypt),
};

function mountedFiles(platform: Platform, secret: boolean): string[] {
  const names = platform.workloads.flatMap((w) => w.configFiles.filter((f) => Boolean(f.secret) === secret));
  return [...new Set(names.map((f) => f.name))];
}

/** Every non-secret file some workload mounts, by name. */
export function renderConfigFiles(ctx: ConfigFileContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of mountedFiles(ctx.platform, false)) out[name] = renderConfigFile(name, ctx);
  return out;
}

/** One non-secret file; a target can watch what its generator reads (Kubernetes derives flows). */
export function renderConfigFile(name: string, ctx: ConfigFileContext): string {
  const generate = GENERATORS[name];
  if (!generate) throw new Error(`no generator for the config file ${name}`);
  return generate(ctx);
}

/** Every secret file some workload mounts, by name. */
export function renderSecretFiles(platform: Platform, inputs: SecretFileInputs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of mountedFiles(platform, true)) {
    const generate = SECRET_GENERATORS[name];
    if (!generate) throw new Error(`no generator for the secret file ${name}`);
    out[name] = generate(platform, inputs);
  }
  return out;
}
