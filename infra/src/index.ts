/**
 * The ShopStream Pulumi program: validated stack config → the platform model → generated secrets
 * → the Docker or the Kubernetes target. Every named export is a stack output.
 */
import { loadStackConfig } from "./config.js";
import { DASHBOARD_USER } from "./config-files/index.js";
import { DockerPlatform } from "./docker/index.js";
import { KubernetesPlatform } from "./kubernetes/index.js";
import { buildPlatform, publicOrigin } from "./model/index.js";
import { PlatformSecrets } from "./secrets.js";

const { config, settings, registryPassword } = loadStackConfig();
const platform = buildPlatform(settings);
const secrets = new PlatformSecrets("secrets", { secrets: platform.secrets });
const targetArgs = { platform, config, secrets, ...(registryPassword ? { registryPassword } : {}) };
const target =
  config.target === "kubernetes"
    ? new KubernetesPlatform("shopstream", targetArgs)
    : new DockerPlatform("shopstream", targetArgs);

const url = (host: Parameters<typeof publicOrigin>[1], path = "/") =>
  `${publicOrigin(settings, host)}${path}`;
const observed = <T>(value: T): T | undefined => (settings.observability ? value : undefined);

export const storefrontUrl = url("app");
export const apiUrl = url("app", "/api");
export const shopAdminEmail = settings.adminEmail ?? secrets.values["admin-email"];
export const shopAdminPassword = secrets.values["admin-password"];
export const grafanaUrl = observed(url("grafana"));
export const grafanaAdminUser = observed("admin");
export const grafanaAdminPassword = observed(secrets.values["grafana-admin-password"]);
export const traefikDashboardUrl = url("traefik", "/dashboard/");
/** Basic-auth user and password for the Traefik dashboard, Prometheus and Alertmanager. */
export const dashboardUser = DASHBOARD_USER;
export const dashboardPassword = secrets.values["traefik-dashboard-password"];
export const prometheusUrl = observed(url("prometheus"));
export const alertmanagerUrl = observed(url("alertmanager"));
export const images = target.images;
/** Kubernetes: the platform's namespace, and the address to point the public DNS names at. */
export const kubernetesNamespace = target instanceof KubernetesPlatform ? target.namespace : undefined;
export const edgeAddress = target instanceof KubernetesPlatform ? target.edgeAddress : undefined;
