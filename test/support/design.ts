/**
 * DESIGN section 1, written out independently of the platform model, so the infra tests check
 * the model against the design rather than against itself.
 */
export const APP_SERVICES = [
  "gateway",
  "auth",
  "product",
  "cart",
  "order",
  "payment",
  "notification",
  "analytics",
];
export const DATA_STORES = ["mariadb", "redis", "rabbitmq", "minio", "elasticsearch"];
export const OBSERVABILITY = ["prometheus", "alertmanager", "grafana", "loki", "promtail"];
/** Every part of the platform, edge first. */
export const DESIGN_PARTS = ["traefik", "storefront", ...APP_SERVICES, ...DATA_STORES, ...OBSERVABILITY];
