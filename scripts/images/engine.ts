/** Phase 1 of `npm run images:test`: the Docker engine, the base images, and what earlier runs left. */
import { join } from "node:path";
import * as mariadb from "mariadb";
import type { LocalEndpoints } from "../../infra/src/local/endpoints.js";
import { removeIsolatedData } from "../../infra/src/local/provision.js";
import { type Platform, REPO_ROOT } from "../../infra/src/model/index.js";
import { docker, exec, isAlive } from "./docker.js";
import { isolationPid } from "./platform.js";
import { LABEL, log } from "./run.js";

export async function prepareEngine(): Promise<void> {
  for (const [what, script] of [
    ["Docker engine", ".ci/ensure-docker.sh"],
    ["base images", "scripts/images/seed.sh"],
  ] as const) {
    const r = await exec("bash", [join(REPO_ROOT, script)], { cwd: REPO_ROOT });
    if (r.code !== 0) throw new Error(`${what}: bash ${script} failed:\n${r.stderr.trim()}`);
    log(`${what}: ${`${r.stdout}${r.stderr}`.trim().split("\n").join(" | ")}`);
  }
}

/** What earlier runs left when they died without cleaning up (their pid is gone). */
export async function sweepLeftovers(platform: Platform, endpoints: LocalEndpoints): Promise<void> {
  const rows = await docker([
    "ps",
    "-a",
    "--filter",
    `label=${LABEL}`,
    "--format",
    `{{.ID}} {{.Label "${LABEL}"}}`,
  ]);
  const stale = rows
    .split("\n")
    .filter(Boolean)
    .map((r) => r.split(" "))
    .filter(([, isolation]) => !isAlive(isolationPid(isolation ?? "")))
    .map(([id]) => id!);
  if (stale.length) {
    await docker(["rm", "-f", "-v", ...stale]);
    log(`removed ${stale.length} container(s) left by an earlier run`);
  }
  const conn = await mariadb.createConnection({ ...endpoints.mariadb, connectTimeout: 5000 });
  const names = ((await conn.query("SHOW DATABASES")) as Record<string, string>[]).map(
    (r) => Object.values(r)[0]!,
  );
  await conn.end();
  const prefixes = new Set(
    names
      .filter((n) => isolationPid(n) && !isAlive(isolationPid(n)))
      .map((n) => n.slice(0, n.indexOf("_") + 1)),
  );
  for (const prefix of prefixes) {
    await removeIsolatedData(platform, endpoints, prefix);
    log(`removed the databases, keys and queues ${prefix}* left by an earlier run`);
  }
}
