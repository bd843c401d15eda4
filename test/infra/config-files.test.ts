import { createHash } from "node:crypto";
import { queueArguments } from "@shopstream/runtime";
import { describe, expect, it } from "vitest";
import { parseStackConfig, platformSettings } from "../../infra/src/config.js";
import {
  type ConfigFileContext,
  lokiConfig,
  mariadbInitScript,
  overviewDashboard,
  prometheusConfig,
  promtailConfig,
  rabbitmqDefinitions,
  rabbitmqPasswordHash,
  redisAcl,
  renderConfigFiles,
  renderSecretFiles,
  servicePasswordSecrets,
  toYaml,
  traefikDynamicConfig,
  traefikStaticConfig,
} from "../../infra/src/config-files/index.js";
import { buildPlatform, containerResolver, type Platform, portByName } from "../../infra/src/model/index.js";

const yamlName = "js-yaml";
const yaml = (await import(yamlName)) as { load(text: string): unknown };

function context(raw: Record<string, string> = {}): ConfigFileContext {
  const config = parseStackConfig(raw, "dev");
  const platform = buildPlatform(platformSettings(config));
  return {
    platform,
    host: containerResolver.host,
    scrapeDiscovery: (w, port) => ({ static_configs: [{ targets: [`${w.name}:${port}`] }] }),
    logDiscovery: "docker",
    edge: {
      tls: { mode: config.tls.mode, ...(config.tls.acmeEmail ? { acmeEmail: config.tls.acmeEmail } : {}) },
      httpsPort: config.httpsPort,
    },
  };
}

describe("generated configuration files", () => {
  it("writes YAML that reads back as the same data", () => {
    const data = { a: "yes", b: ["x: y", { c: null, d: [] }], e: "$2a$10$abc", f: "`Host(`x`)`", g: 1.5 };
    expect(yaml.load(toYaml(data))).toEqual(data);
    for (const [name, text] of Object.entries(renderConfigFiles(context()))) {
      if (name.endsWith(".sh") || name === "mariadb-init" || name === "rabbitmq-conf") continue;
      expect(() => yaml.load(text), name).not.toThrow();
    }
  });

  it("hashes the RabbitMQ password with its salted SHA-256 scheme", () => {
    // The worked example of RabbitMQ's documentation: salt 908DC60A, password test12.
    expect(rabbitmqPasswordHash("test12", Buffer.from("908DC60A", "hex"))).toBe(
      "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR",
    );
    expect(rabbitmqPasswordHash("s3cret")).toBe(rabbitmqPasswordHash("s3cret"));
  });

  /** A distinct password per secret, so a test can tell whose hash a file holds. */
  const passwords = (platform: Platform) =>
    Object.fromEntries(servicePasswordSecrets(platform).map((n) => [n, `pw-${n}`]));

  it("declares every consumer queue in the broker with the arguments the services declare", () => {
    const { platform } = context();
    const defs = JSON.parse(rabbitmqDefinitions(platform, passwords(platform))) as {
      users: { name: string; password_hash: string }[];
      exchanges: { name: string; type: string }[];
      queues: { name: string; durable: boolean; arguments: Record<string, string> }[];
      bindings: { source: string; destination: string; routing_key: string }[];
    };
    expect(JSON.stringify(defs)).not.toContain('password"');
    expect(JSON.stringify(defs)).not.toContain("pw-");
    expect(defs.exchanges).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "shopstream.events", type: "topic" }),
        expect.objectContaining({ name: "shopstream.events.dlx", type: "direct" }),
        expect.objectContaining({ name: "shopstream.events.retry", type: "topic" }),
      ]),
    );
    for (const q of platform.messaging.queues) {
      const args = queueArguments(platform.messaging.exchange, q.name);
      const byName = (n: string) => defs.queues.find((x) => x.name === n);
      expect(byName(q.name)?.arguments, q.name).toEqual(args.main);
      expect(byName(`${q.name}.retry`)?.arguments, q.name).toEqual(args.retry);
      expect(byName(`${q.name}.dead`)?.durable, q.name).toBe(true);
      for (const key of q.bindings) {
        expect(defs.bindings).toContainEqual(
          expect.objectContaining({ source: "shopstream.events", destination: q.name, routing_key: key }),
        );
      }
      expect(defs.bindings).toContainEqual(
        expect.objectContaining({
          source: "shopstream.events.dlx",
          destination: `${q.name}.dead`,
          routing_key: q.name,
        }),
      );
      expect(defs.bindings).toContainEqual(
        expect.objectContaining({
          source: "shopstream.events.retry",
          destination: `${q.name}.retry`,
          routing_key: q.name,
        }),
      );
    }
  });

  it("gives each broker user of a service its own password and only its own queues and routing keys", () => {
    const { platform } = context();
    const defs = JSON.parse(rabbitmqDefinitions(platform, passwords(platform))) as {
      users: { name: string; password_hash: string }[];
      permissions: { user: string; configure: string; write: string; read: string }[];
      topic_permissions: { user: string; exchange: string; write: string; read: string }[];
    };
    const brokered = platform.workloads.filter((w) => w.broker);
    expect(brokered.map((w) => w.name).sort()).toEqual(
      ["analytics", "cart", "notification", "order", "payment", "product"].sort(),
    );
    expect(defs.users.map((u) => u.name).sort()).toEqual(brokered.map((w) => `shopstream-${w.name}`).sort());
    for (const w of brokered) {
      const user = defs.users.find((u) => u.name === w.broker!.user)!;
      const salt = Buffer.from(user.password_hash, "base64").subarray(0, 4);
      expect(user.password_hash).toBe(rabbitmqPasswordHash(`pw-rabbitmq-password-${w.name}`, salt));
      const p = defs.permissions.find((x) => x.user === user.name)!;
      expect(p.configure, w.name).toBe("^$");
      const topic = defs.topic_permissions.find(
        (t) => t.user === user.name && t.exchange === "shopstream.events",
      )!;
      for (const key of platform.messaging.publishers[w.name] ?? [])
        expect(key).toMatch(new RegExp(topic.write));
      for (const [other, keys] of Object.entries(platform.messaging.publishers)) {
        if (other === w.name) continue;
        for (const key of keys)
          expect(key, `${w.name} publishing ${key}`).not.toMatch(new RegExp(topic.write));
      }
      for (const q of platform.messaging.queues) {
        const reads = new RegExp(p.read).test(q.name);
        expect(reads, `${w.name} reading ${q.name}`).toBe(q.consumer === w.name);
      }
      expect("amq.default", w.name).not.toMatch(new RegExp(p.write));
      expect("shopstream.events.dlx", w.name).not.toMatch(new RegExp(p.write));
    }
  });

  it("creates one database and one user per owning service, granted on its own database only", () => {
    const script = mariadbInitScript(context().platform);
    for (const db of ["auth", "product", "order", "payment"]) {
      expect(script).toContain(`shopstream_create_database ${db} ${db} /run/secrets/db-password-${db}`);
    }
    expect(script).toContain("GRANT ALL PRIVILEGES ON \\`$database\\`.* TO '$user'@'%'");
    expect(script).not.toMatch(/ON \*\.\*/);
  });

  it("gives each Redis user of a service only the SHA-256 of its password, its keys and its commands", () => {
    const { platform } = context();
    const acl = redisAcl(platform, "redis", passwords(platform));
    const lines = acl.trim().split("\n");
    expect(lines[0]).toBe("user default off resetkeys resetchannels -@all");
    const cart = lines.find((l) => l.startsWith("user shopstream-cart "))!;
    expect(cart).toBe(
      `user shopstream-cart reset on #${createHash("sha256").update("pw-redis-password-cart").digest("hex")} ~shopstream:cart:* ~shopstream:cart-order:* ~shopstream:cart-event:* resetchannels -@all +ping +eval +hgetall +del +hget +hset +hdel +hlen +exists +expire +set`,
    );
    expect(acl).not.toContain("pw-");
    expect(lines.find((l) => l.startsWith("user shopstream-notification "))).toContain(
      "resetchannels &shopstream:notification:push",
    );
    // Every service that keeps something in the main Redis, and nobody else: product, whose only
    // Redis use is the catalog cache, has no user there.
    expect(lines.map((l) => l.split(" ")[1]).sort()).toEqual(
      [
        "default",
        ...["gateway", "auth", "cart", "notification", "analytics"].map((s) => `shopstream-${s}`),
      ].sort(),
    );
    // The order service keeps nothing in Redis: it gets no user at all.
    expect(platform.workloads.find((w) => w.name === "order")?.redis).toBeUndefined();
  });

  it("gives the cache instance its own ACL: product's cache user and the gateway's subscribe-only user", () => {
    const { platform } = context();
    const acl = redisAcl(platform, "redis-cache", passwords(platform));
    const lines = acl.trim().split("\n");
    const sha = (secret: string) => createHash("sha256").update(`pw-${secret}`).digest("hex");
    expect(lines).toEqual([
      "user default off resetkeys resetchannels -@all",
      `user shopstream-gateway-cache reset on #${sha("redis-password-gateway-cache")} resetchannels &shopstream:catalog:changed -@all +subscribe +unsubscribe`,
      `user shopstream-product-cache reset on #${sha("redis-password-product-cache")} ~shopstream:catalog:* resetchannels &shopstream:catalog:changed -@all +ping +mget +set +multi +incr +publish +exec`,
    ]);
    // The catalog channel is on the cache instance only: no user of the main one may use it.
    expect(redisAcl(platform, "redis", passwords(platform))).not.toContain("catalog");
  });

  it("routes every public route of the model to a real port of its workload", () => {
    const ctx = context();
    const dynamic = traefikDynamicConfig(ctx);
    const routed = ctx.platform.workloads.flatMap((w) => w.routes.map((r) => ({ w, r })));
    expect(routed.length).toBeGreaterThanOrEqual(6);
    for (const { w, r } of routed) {
      const router = dynamic.http.routers[w.name];
      expect(router, `${w.name} ${r.pathPrefix}`).toBeDefined();
      expect(router!.rule).toContain(`Host(\`${ctx.platform.settings.hosts[r.host]}\`)`);
      if (w.tier === "edge") {
        expect(router!.service).toBe("api@internal");
        continue;
      }
      const service = dynamic.http.services[router!.service]!;
      if (!("loadBalancer" in service)) throw new Error(`${router!.service} is not a load balancer`);
      const url = service.loadBalancer.servers[0]!.url;
      expect(url).toBe(`http://${w.name}:${portByName(w, r.port)}`);
      expect(w.ports.map((p) => p.port)).toContain(Number(new URL(url).port));
    }
    expect(dynamic.http.routers.gateway!.rule).toBe("Host(`shopstream.localhost`) && PathPrefix(`/api`)");
    expect(dynamic.http.routers.storefront!.rule).toBe("Host(`shopstream.localhost`)");
  });

  it("puts the dashboard, Prometheus and Alertmanager behind basic auth from a users file", () => {
    const dynamic = traefikDynamicConfig(context());
    for (const name of ["traefik", "prometheus", "alertmanager"]) {
      expect(dynamic.http.routers[name]!.middlewares).toEqual(["admin-auth"]);
    }
    for (const name of ["storefront", "gateway", "grafana"])
      expect(dynamic.http.routers[name]!.middlewares).toBeUndefined();
    expect(dynamic.http.middlewares["admin-auth"]).toEqual({
      basicAuth: expect.objectContaining({ usersFile: "/run/secrets/traefik-users" }),
    });
  });

  it("redirects HTTP to the published HTTPS port and uses Traefik's default certificate in dev", () => {
    const s = traefikStaticConfig(context({ httpsPort: "8443" })) as {
      entryPoints: Record<
        string,
        { http?: { redirections?: { entryPoint: { to: string } }; tls?: unknown } }
      >;
      certificatesResolvers?: unknown;
      ping: unknown;
      metrics: unknown;
    };
    expect(s.entryPoints.web!.http!.redirections!.entryPoint.to).toBe(":8443");
    expect(s.entryPoints.websecure!.http!.tls).toEqual({});
    expect(s.certificatesResolvers).toBeUndefined();
    expect(s.ping).toEqual({ entryPoint: "admin" });
    expect(s.metrics).toEqual({ prometheus: expect.objectContaining({ entryPoint: "admin" }) });
  });

  it("keeps no query string (a token, a search) and no header in Traefik's access log", () => {
    // Traefik v3.3 logs the query inside RequestPath and cannot strip it alone: the field goes;
    // the services' own request logs keep the path without its query.
    const s = traefikStaticConfig(context()) as {
      accessLog: {
        format: string;
        fields: { names?: Record<string, string>; headers: { defaultMode: string } };
      };
    };
    expect(s.accessLog.format).toBe("json");
    expect(s.accessLog.fields.names).toMatchObject({ RequestPath: "drop" });
    expect(s.accessLog.fields.headers.defaultMode).toBe("drop");
  });

  it("asks Let's Encrypt for certificates when a domain and an e-mail are configured", () => {
    const ctx = context({
      domain: "shop.example.com",
      tls: JSON.stringify({ mode: "acme", acmeEmail: "ops@example.com" }),
    });
    const s = traefikStaticConfig(ctx) as {
      certificatesResolvers: { letsencrypt: { acme: { email: string } } };
    };
    expect(s.certificatesResolvers.letsencrypt.acme.email).toBe("ops@example.com");
    const d = traefikDynamicConfig(ctx);
    expect(d.http.routers.storefront!.tls).toEqual({ certResolver: "letsencrypt" });
  });

  it("scrapes every workload that declares metrics, every app service included", () => {
    const ctx = context();
    const config = prometheusConfig(ctx) as {
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    const jobs = new Map(config.scrape_configs.map((j) => [j.job_name, j]));
    const scraped = ctx.platform.workloads.filter((w) => w.scrape);
    for (const app of [
      "gateway",
      "auth",
      "product",
      "cart",
      "order",
      "payment",
      "notification",
      "analytics",
    ]) {
      expect(jobs.get(app)?.static_configs[0]?.targets, app).toEqual([
        `${app}:${ctx.platform.workloads.find((w) => w.name === app)!.ports[0]!.port}`,
      ]);
    }
    expect(jobs.size).toBe(scraped.length);
    expect(jobs.get("rabbitmq")?.metrics_path).toBe("/metrics/per-object");
  });

  it("charts every app service on the overview dashboard", () => {
    const ctx = context();
    const titles = (overviewDashboard(ctx).panels as { title: string }[]).map((p) => p.title);
    for (const w of ctx.platform.workloads.filter((x) => x.tier === "app" && x.scrape))
      expect(titles).toContain(w.name);
  });

  it("keeps logs for the configured retention and ships container logs of this stack only", () => {
    const ctx = context({ logRetentionDays: "3" });
    const loki = lokiConfig(ctx) as {
      limits_config: { retention_period: string };
      compactor: { retention_enabled: boolean };
    };
    expect(loki.limits_config.retention_period).toBe("72h");
    expect(loki.compactor.retention_enabled).toBe(true);
    // Promtail tails the engine's log files; it never asks the Docker API.
    const promtail = promtailConfig(ctx) as { scrape_configs: Record<string, unknown>[] };
    expect(JSON.stringify(promtail)).not.toMatch(/docker\.sock|docker_sd/);
    const [job] = promtail.scrape_configs;
    expect(job!.static_configs).toEqual([
      { targets: ["localhost"], labels: { __path__: "/var/lib/docker/containers/*/*-json.log" } },
    ]);
    expect(job!.pipeline_stages).toContainEqual({
      match: { selector: '{stack!="dev"}', action: "drop", drop_counter_reason: "other_stack" },
    });
  });

  it("renders every file a workload mounts", () => {
    const ctx = context();
    const files = renderConfigFiles(ctx);
    const secretFiles = renderSecretFiles(ctx.platform, {
      passwords: passwords(ctx.platform),
      dashboardPasswordBcrypt: "$2a$10$x",
    });
    for (const w of ctx.platform.workloads) {
      for (const f of w.configFiles) expect((f.secret ? secretFiles : files)[f.name], f.name).toBeTruthy();
    }
    expect(secretFiles["traefik-users"]).toBe("admin:$2a$10$x\n");
  });
});
