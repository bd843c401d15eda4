import { appServices, serviceSecrets, storefront } from "./app-services.js";
import { withCanary } from "./canary.js";
import { NETWORKS, SECRETS } from "./constants.js";
import { dataStores } from "./data-stores.js";
import { edge } from "./edge.js";
import { observability } from "./observability.js";
import { messagingFor } from "./parts.js";
import type { Platform, PlatformSettings, SecretSpec } from "./types.js";

/** The platform's secrets: the admin's address joins them when the settings name none. */
function secretsFor(s: PlatformSettings): SecretSpec[] {
  if (s.adminEmail) return SECRETS;
  const domain = s.hosts.app.replace(/:\d+$/, "");
  return [
    ...SECRETS,
    { name: "admin-email", kind: "email", domain, description: "The shop admin's e-mail address" },
  ];
}

/** Builds the whole platform for one environment. Pure: same settings, same model. */
export function buildPlatform(settings: PlatformSettings): Platform {
  if (!/^[a-z0-9_]{0,20}$/.test(settings.isolation ?? ""))
    throw new Error("isolation must be up to 20 of a-z, 0-9 and _");
  const workloads = withCanary(
    [
      ...dataStores(settings),
      ...appServices(settings),
      storefront(settings),
      edge(settings),
      ...(settings.observability ? observability(settings) : []),
    ],
    settings.canary,
  );
  return {
    settings,
    networks: NETWORKS,
    secrets: [...secretsFor(settings), ...serviceSecrets(workloads)],
    workloads,
    messaging: messagingFor(settings),
  };
}
