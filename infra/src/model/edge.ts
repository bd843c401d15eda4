import { execHealth, thirdParty } from "./parts.js";
import type { PlatformSettings, Workload } from "./types.js";

/** The edge: Traefik, the only public entry. */
export function edge(s: PlatformSettings): Workload {
  const scale = (m: number) => Math.round(m * s.resourceScale);
  return thirdParty({
    name: "traefik",
    tier: "edge",
    description: "The only public entry: TLS, routing, security headers, compression",
    image: { kind: "third-party", image: "traefik" },
    ports: [
      { name: "web", port: 8000 },
      { name: "websecure", port: 8443 },
      { name: "admin", port: 8082 },
    ],
    args: ["--configFile=/etc/traefik/traefik.yml"],
    networks: ["traefik-public", "frontend", "monitoring"],
    volumes: [{ name: "traefik-acme", mountPath: "/acme", sizeGi: 1, ownedBy: "65532:65532" }],
    configFiles: [
      { name: "traefik-static", mountPath: "/etc/traefik/traefik.yml" },
      { name: "traefik-dynamic", mountPath: "/etc/traefik/dynamic/shopstream.yml" },
      // `user:bcrypt-hash` lines for the basic auth in front of the admin hosts.
      { name: "traefik-users", mountPath: "/run/secrets/traefik-users", secret: true },
    ],
    // Reads the same static config, so it probes the `ping` handler on the admin entry point.
    health: execHealth(["traefik", "healthcheck", "--configFile=/etc/traefik/traefik.yml"], 10),
    routes: [{ host: "traefik", pathPrefix: "/", port: "admin" }],
    scrape: { port: "admin", path: "/metrics" },
    replicas: s.edgeReplicas ?? 1,
    resources: { cpuMillis: scale(100), memoryMiB: scale(128) },
    dependsOn: ["storefront", "gateway"],
    user: "65532:65532",
    readOnlyRootFilesystem: true,
  });
}
