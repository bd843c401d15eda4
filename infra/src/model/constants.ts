/** The platform's fixed names and numbers: networks, secrets, app ports, token and messaging names. */
import type { MessagingTopology, NetworkSpec, SecretSpec } from "./types.js";

export const NETWORKS: NetworkSpec[] = [
  { name: "traefik-public", internal: false, description: "The edge's public side: only Traefik." },
  {
    name: "frontend",
    internal: false,
    description: "Traefik to what it routes: storefront, gateway, Grafana.",
  },
  { name: "backend", internal: true, description: "Gateway and the app services." },
  { name: "data", internal: true, description: "Services that own data, and the data stores." },
  {
    name: "metrics",
    internal: true,
    description:
      "Prometheus and the workloads it scrapes outside `monitoring` (app services, RabbitMQ, MinIO): they reach no dashboard, log store or edge admin port.",
  },
  {
    name: "monitoring",
    internal: true,
    description: "Prometheus, Alertmanager, Grafana, Loki, Promtail, Tempo, and Traefik (it routes to them).",
  },
  {
    name: "tracing",
    internal: true,
    description: "The app services and the trace store (Tempo), which they send their spans to over OTLP.",
  },
];

export const SECRETS: SecretSpec[] = [
  { name: "mariadb-root-password", kind: "password", length: 32, description: "MariaDB root" },
  { name: "db-password-auth", kind: "password", length: 32, description: "MariaDB user `auth`" },
  { name: "db-password-product", kind: "password", length: 32, description: "MariaDB user `product`" },
  { name: "db-password-order", kind: "password", length: 32, description: "MariaDB user `order`" },
  { name: "db-password-payment", kind: "password", length: 32, description: "MariaDB user `payment`" },
  { name: "jwt-signing-key", kind: "ed25519-pem", description: "Ed25519 key that signs access tokens" },
  { name: "minio-access-key", kind: "password", length: 20, description: "MinIO root user" },
  { name: "minio-secret-key", kind: "password", length: 40, description: "MinIO root password" },
  { name: "grafana-admin-password", kind: "password", length: 24, description: "Grafana `admin`" },
  { name: "admin-password", kind: "password", length: 24, description: "The shop's admin account" },
  {
    name: "traefik-dashboard-password",
    kind: "password",
    length: 24,
    description: "Basic auth for the Traefik dashboard, Prometheus and Alertmanager",
  },
];

/** App service ports are distinct so that the local run can put every process on 127.0.0.1. */
export const APP_PORTS = {
  gateway: 8080,
  storefront: 8081,
  auth: 3001,
  product: 3002,
  cart: 3003,
  order: 3004,
  payment: 3005,
  notification: 3006,
  analytics: 3007,
} as const;

export const JWT_ISSUER = "shopstream-auth";

export const JWT_AUDIENCE = "shopstream";

export const EVENTS_EXCHANGE = "shopstream.events";

export const MESSAGING: MessagingTopology = {
  vhost: "shopstream",
  exchange: EVENTS_EXCHANGE,
  deadLetterExchange: `${EVENTS_EXCHANGE}.dlx`,
  queues: [
    { name: "payment.order-created", consumer: "payment", bindings: ["order.created"] },
    // A cancelled order is never left charged: payment voids it, or refunds a charge that won the race.
    { name: "payment.order-cancelled", consumer: "payment", bindings: ["order.cancelled"] },
    {
      name: "order.payment-events",
      consumer: "order",
      bindings: ["payment.completed", "payment.failed", "payment.refunded"],
    },
    {
      name: "product.stock-release",
      consumer: "product",
      bindings: ["order.payment_failed", "order.cancelled"],
    },
    { name: "product.search-index", consumer: "product", bindings: ["product.changed", "product.deleted"] },
    { name: "cart.order-created", consumer: "cart", bindings: ["order.created"] },
    { name: "notification.events", consumer: "notification", bindings: ["order.*", "payment.*"] },
    { name: "analytics.events", consumer: "analytics", bindings: ["#"] },
  ],
  // From each service's code: the events it creates (analytics and notification publish none).
  publishers: {
    order: [
      "order.created",
      "order.paid",
      "order.payment_failed",
      "order.cancelled",
      "order.shipped",
      "order.delivered",
    ],
    payment: ["payment.completed", "payment.failed", "payment.refunded"],
    product: ["product.changed", "product.deleted"],
    cart: ["cart.item_added"],
  },
  retryExchange: `${EVENTS_EXCHANGE}.retry`,
};

/** The prefix every service's Redis keys and channels are under. */
export const KEY_PREFIX = "shopstream:";

/**
 * How long an app service may take to listen before failed health checks count: an upper bound,
 * not a wait (a service is healthy at its first passing probe). At the model's 0.2 CPU a start
 * was measured at 3 s of CPU unthrottled but 194 s of wall time (31 s of CPU) for auth, so 60 s
 * failed the real-engine replay; why throttling inflates start-up CPU tenfold is still open.
 */
export const APP_START_PERIOD_SECONDS = 300;
