/**
 * The table of docs/least-privilege.md, generated from the platform model: what each app
 * service may do on the broker, in Redis, on which networks, and which internal routes it may
 * call or serves. test/infra/least-privilege-doc.test.ts keeps the document equal to it.
 */
import type { Platform, Workload } from "../../infra/src/model/index.js";

const code = (items: string[]) => (items.length ? items.map((i) => `\`${i}\``).join(", ") : "none");

function broker(w: Workload): string {
  if (!w.broker) return "no user";
  return [
    `user \`${w.broker.user}\``,
    `publishes ${code(w.broker.publishes)}`,
    `reads ${code(w.broker.queues)}${w.broker.queues.length ? " and their `.dead`" : ""}`,
    "declares nothing",
  ].join("; ");
}

function redis(w: Workload): string {
  if (!w.redis) return "no user";
  return w.redis
    .map((r) =>
      [
        `on \`${r.instance}\` user \`${r.user}\``,
        `keys ${code(r.keys.map((k) => `shopstream:${k}:*`))}`,
        ...(r.channels.length ? [`channels ${code(r.channels.map((c) => `shopstream:${c}`))}`] : []),
        `commands ${r.commands.join(" ")}`,
      ].join("; "),
    )
    .join("<br>");
}

function calls(platform: Platform, w: Workload): string {
  const routes = platform.workloads.flatMap((callee) =>
    (callee.internalRoutes ?? [])
      .filter((r) => r.callers.includes(w.name))
      .map((r) => `${callee.name}: ${r.method} ${r.path}`),
  );
  return code(routes);
}

function serves(w: Workload): string {
  return code((w.internalRoutes ?? []).map((r) => `${r.method} ${r.path} (${r.callers.join(", ")})`));
}

/** One row per app service (the storefront has none of these rights). */
export function accessTable(platform: Platform): string {
  const rows = platform.workloads
    .filter((w) => w.tier === "app" && w.local)
    .map(
      (w) =>
        `| ${w.name} | ${broker(w)} | ${redis(w)} | ${code(w.networks)} | ${calls(platform, w)} | ${serves(w)} |`,
    );
  return [
    "| Service | RabbitMQ | Redis | Networks (Docker) | Internal routes it may call | Internal routes it serves (callers) |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
