/** Pieces the workload builders share (not part of the model's public API). */
import { MESSAGING } from "./constants.js";
import type {
  EnvValue,
  HealthCheck,
  MessagingTopology,
  PlatformSettings,
  SecretName,
  Workload,
} from "./types.js";

/** The messaging topology a platform runs on (a developer's broker: its default vhost). */
export function messagingFor(s: PlatformSettings): MessagingTopology {
  return s.brokerVhost ? { ...MESSAGING, vhost: s.brokerVhost } : MESSAGING;
}

export const secret = (name: SecretName, fileVar?: string): EnvValue =>
  fileVar ? { kind: "secret", secret: name, fileVar } : { kind: "secret", secret: name };

export const url = (
  workload: string,
  scheme: "http" | "redis" | "amqp" | "ws" = "http",
  path?: string,
): EnvValue => (path ? { kind: "url", workload, scheme, path } : { kind: "url", workload, scheme });

export const httpHealth = (path: string, probe: HealthCheck["probe"]): HealthCheck => ({
  kind: "http",
  path,
  probe,
  intervalSeconds: 10,
  timeoutSeconds: 3,
  retries: 3,
  startPeriodSeconds: 20,
});

export const execHealth = (command: string[], startPeriodSeconds = 30): HealthCheck => ({
  kind: "exec",
  command,
  intervalSeconds: 10,
  timeoutSeconds: 5,
  retries: 5,
  startPeriodSeconds,
});

/** Files at the repo root every image build reads (workspaces, lockfile, compiler settings). */
export const ROOT_BUILD_FILES = [
  "package.json",
  "package-lock.json",
  ".npmrc",
  "tsconfig.base.json",
  ".dockerignore",
];

/** Defaults shared by third-party workloads; each overrides what differs. */
export function thirdParty(
  w: Pick<Workload, "name" | "tier" | "description" | "image" | "ports" | "networks" | "resources"> &
    Partial<Workload>,
): Workload {
  return {
    env: {},
    extraSecrets: [],
    volumes: [],
    configFiles: [],
    routes: [],
    replicas: 1,
    dependsOn: [],
    stateful: false,
    readOnlyRootFilesystem: false,
    tmpfs: [],
    stopGracePeriodSeconds: 30,
    databases: [],
    ...w,
  };
}
