/**
 * `npm run dev`: the whole platform on this machine, without containers. Every Node service of
 * the platform model runs as a process on 127.0.0.1; Ctrl-C drains them all and exits 0.
 *
 * When MariaDB, Redis or RabbitMQ is missing and a Docker engine answers, it offers to start the
 * missing ones as containers (`stores.ts`): asked on a terminal, `--start-stores` (or
 * `SHOPSTREAM_START_STORES=1`) without one. `--remove-stores` removes them and their volumes on exit.
 */
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { REPO_ROOT } from "../model/index.js";
import { localEndpoints } from "./endpoints.js";
import { type PreflightFailure, preflight } from "./preflight.js";
import { PreflightError, startLocalRun } from "./run.js";
import {
  adoptRunningStores,
  engineAnswers,
  removeStores,
  type StoreContainer,
  startable,
  startStores,
  storeContainers,
} from "./stores.js";

const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s);

const USAGE = `usage: npm run dev [-- --start-stores] [-- --remove-stores]
  --start-stores   start missing MariaDB, Redis and RabbitMQ as Docker containers without asking
                   (SHOPSTREAM_START_STORES=1 does the same)
  --remove-stores  on exit, remove those containers and their volumes (their data)`;

function parseFlags(argv: string[], env: NodeJS.ProcessEnv) {
  const known = new Set(["--start-stores", "--remove-stores"]);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length) {
    process.stderr.write(`unknown argument ${unknown.join(" ")}\n${USAGE}\n`);
    process.exit(2);
  }
  const yes = /^(1|yes|true)$/i.test(env.SHOPSTREAM_START_STORES ?? "");
  return {
    startStores: argv.includes("--start-stores") || yes,
    removeStores: argv.includes("--remove-stores"),
  };
}

function explain(failures: PreflightFailure[], hint?: string) {
  for (const f of failures) {
    process.stderr.write(
      `\n${f.store} cannot be reached at ${f.where}: ${f.error}\n  Start it with:  ${f.howToStart}\n`,
    );
  }
  process.stderr.write(
    "\nShopStream needs MariaDB, Redis and RabbitMQ running locally (docs/local-run.md).\n",
  );
  if (hint) process.stderr.write(`${hint}\n`);
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (await rl.question(question)).trim().toLowerCase();
    return answer === "" || answer === "y" || answer === "yes";
  } finally {
    rl.close();
  }
}

/**
 * The env the run uses: the developer's, plus what store containers need. Offers to start the
 * missing stores as containers when a Docker engine answers; exits with the clear message when
 * they stay missing.
 */
async function withStores(
  env: NodeJS.ProcessEnv,
  stateDir: string,
  flags: ReturnType<typeof parseFlags>,
): Promise<{ env: NodeJS.ProcessEnv; containers: StoreContainer[] }> {
  const docker = await engineAnswers();
  const containers = docker ? storeContainers(env, stateDir) : [];
  const adopted = docker ? await adoptRunningStores(env, containers) : env;
  const failures = await preflight(localEndpoints(adopted));
  if (!failures.length) return { env: adopted, containers };
  const offer = startable(failures, containers, adopted);
  if (!offer.length) {
    explain(
      failures,
      docker ? undefined : "(With a Docker engine running, npm run dev offers to start them as containers.)",
    );
    process.exit(1);
  }
  const list = offer.map((s) => `${s.store} (${s.image})`).join(", ");
  let yes = flags.startStores;
  if (!yes && process.stdin.isTTY) {
    explain(failures);
    yes = await ask(
      `\nStart ${list} as Docker containers, ports on 127.0.0.1, data in named volumes? [Y/n] `,
    );
  } else if (!yes) {
    explain(
      failures,
      `A Docker engine answers: \`npm run dev -- --start-stores\` (or SHOPSTREAM_START_STORES=1) starts ${list} as containers.`,
    );
  }
  if (!yes) process.exit(1);
  const ready = await startStores(offer, adopted, {
    log: (line) => process.stdout.write(`stores: ${line}\n`),
  });
  process.stdout.write(
    `stores: they keep running after Ctrl-C; \`npm run dev -- --remove-stores\` removes them and their data on exit.\n`,
  );
  return { env: ready, containers };
}

async function main() {
  const flags = parseFlags(process.argv.slice(2), process.env);
  const stateDir = process.env.SHOPSTREAM_STATE_DIR ?? join(REPO_ROOT, ".shopstream");
  let stores: Awaited<ReturnType<typeof withStores>>;
  try {
    stores = await withStores(process.env, stateDir, flags);
  } catch (err) {
    process.stderr.write(`\nThe data stores could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let run: Awaited<ReturnType<typeof startLocalRun>> | undefined;
  try {
    run = await startLocalRun({
      env: stores.env,
      stateDir,
      onUnexpectedExit: (name, code) => {
        // During start-up the readiness wait reports it; afterwards the platform stops.
        if (!run) return;
        process.stderr.write(`\n${name} exited unexpectedly (code ${code}); stopping the platform.\n`);
        void shutdown(1);
      },
    });
  } catch (err) {
    if (err instanceof PreflightError) explain(err.failures);
    else {
      process.stderr.write(`\nThe platform could not start: ${(err as Error).message}\n`);
    }
    process.exit(1);
  }

  const admin = run.secrets.admin;
  const credentials =
    admin.source === "env"
      ? "from SHOPSTREAM_ADMIN_PASSWORD(_FILE)"
      : admin.source === "generated"
        ? `${admin.password}   (generated now and shown once; kept in ${admin.storedAt})`
        : `kept in ${admin.storedAt} (set SHOPSTREAM_ADMIN_PASSWORD to choose one)`;
  process.stdout.write(
    [
      "",
      bold(`ShopStream is ready in ${run.readySeconds.toFixed(1)} s`),
      `  Shop and API:  ${run.url}   (API under ${run.url}/api)`,
      `  API docs:      ${run.url}/api/docs   (OpenAPI 3.1: ${run.url}/api/openapi.json)`,
      `  Admin:         ${run.adminEmail}   (SHOPSTREAM_ADMIN_EMAIL, else generated once and kept in ${join(stateDir, "admin-email")})`,
      `  Password:      ${credentials}`,
      ...(run.platform.settings.rateLimits === "lifted"
        ? ["  Rate limits:   lifted (LOCAL_RATE_LIMITS=off): for load tests only"]
        : []),
      "  Stop:          Ctrl-C",
      "",
    ].join("\n"),
  );

  let stopping: Promise<void> | undefined;
  async function shutdown(code: number) {
    stopping ??= (async () => {
      process.stdout.write("\nStopping every service…\n");
      const results = (await run?.stop()) ?? [];
      const unclean = results.filter((r) => r.code !== 0);
      for (const r of unclean) process.stderr.write(`${r.name} exited with code ${r.code}\n`);
      if (flags.removeStores && stores.containers.length) {
        await removeStores(stores.containers, (line) => process.stdout.write(`stores: ${line}\n`)).catch(
          (e: Error) => process.stderr.write(`stores: could not remove them: ${e.message}\n`),
        );
      }
      process.exit(code !== 0 ? code : unclean.length ? 1 : 0);
    })();
    return stopping;
  }
  process.once("SIGINT", () => void shutdown(0));
  process.once("SIGTERM", () => void shutdown(0));
}

void main();
