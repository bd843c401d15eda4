/**
 * `npm run dev`: the whole platform on this machine, without containers. Every Node service of
 * the platform model runs as a process on 127.0.0.1; Ctrl-C drains them all and exits 0.
 */
import { PreflightError, startLocalRun } from "./run.js";

const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s);

async function main() {
  let run: Awaited<ReturnType<typeof startLocalRun>> | undefined;
  try {
    run = await startLocalRun({
      onUnexpectedExit: (name, code) => {
        // During start-up the readiness wait reports it; afterwards the platform stops.
        if (!run) return;
        process.stderr.write(`\n${name} exited unexpectedly (code ${code}); stopping the platform.\n`);
        void shutdown(1);
      },
    });
  } catch (err) {
    if (err instanceof PreflightError) {
      for (const f of err.failures) {
        process.stderr.write(
          `\n${f.store} cannot be reached at ${f.where}: ${f.error}\n  Start it with:  ${f.howToStart}\n`,
        );
      }
      process.stderr.write("\nShopStream needs MariaDB, Redis and RabbitMQ running locally (see README).\n");
    } else {
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
      `  Admin:         ${run.adminEmail}   (SHOPSTREAM_ADMIN_EMAIL, else generated once and kept in .shopstream/admin-email)`,
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
      process.exit(code !== 0 ? code : unclean.length ? 1 : 0);
    })();
    return stopping;
  }
  process.once("SIGINT", () => void shutdown(0));
  process.once("SIGTERM", () => void shutdown(0));
}

void main();
