/**
 * `npm run test:stress`: runs the whole test suite (or `images:test`) several times in a row
 * while one CPU-bound process per core competes for the machine, and records every failure.
 *
 * A test that passes only on a quiet machine has a race; this loop makes it show. Use it after
 * touching anything timing-related (waits, polls, timeouts, start-up order, health checks) and
 * before calling a flaky test fixed.
 *
 *   npm run test:stress                    # the suite, 5 runs, one busy loop per core
 *   npm run test:stress -- --runs 10       # more runs
 *   npm run test:stress -- --images        # `images:test` instead of the suite
 *   npm run test:stress -- --load 0        # no extra load
 *   npm run test:stress -- test/browser    # only these files (passed on to vitest)
 *
 * Each run's output goes to test-artifacts/stress/<mode>-<n>.log and the summary to
 * test-artifacts/stress/<mode>-summary.json. Exits non-zero when any run failed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "test-artifacts/stress");

interface Options {
  runs: number;
  load: number;
  images: boolean;
  files: string[];
}

function parse(argv: string[]): Options {
  const options: Options = { runs: 5, load: availableParallelism(), images: false, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${arg} needs a whole number`);
      return v;
    };
    if (arg === "--runs") options.runs = Math.max(1, value());
    else if (arg === "--load") options.load = value();
    else if (arg === "--images") options.images = true;
    else options.files.push(arg);
  }
  return options;
}

/** One process per core spinning on the CPU, at normal priority, as a busy CI neighbour would. */
function startLoad(count: number): ChildProcess[] {
  return Array.from({ length: count }, () =>
    spawn(process.execPath, ["-e", "for (;;) { Math.sqrt(Math.random()); }"], { stdio: "ignore" }),
  );
}

function run(command: string, args: string[], logFile: string): Promise<number> {
  return new Promise((done) => {
    const log = createWriteStream(logFile);
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, FORCE_COLOR: "0" } });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on("close", (code, signal) => {
      log.end();
      done(code ?? (signal ? 128 : 1));
    });
  });
}

/** The failing tests named in a vitest log (its "FAIL" lines), or the last lines of any other log. */
async function failures(logFile: string, images: boolean): Promise<string[]> {
  const { readFileSync } = await import("node:fs");
  const text = readFileSync(logFile, "utf8");
  if (images) return text.trimEnd().split("\n").slice(-5);
  const found = new Set<string>();
  for (const line of text.split("\n")) {
    const match = /^\s*FAIL\s+(.+?)\s*$/.exec(line);
    if (match) found.add(match[1]!);
  }
  return [...found];
}

async function main() {
  const options = parse(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  const mode = options.images ? "images" : "suite";
  const [command, args] = options.images
    ? ["npm", ["run", "images:test", "--", "--no-rebuild"]]
    : ["npx", ["vitest", "run", ...options.files]];

  if (!options.images) {
    // Build once: the suite's browser test and the local-run tests start the built services.
    const code = await run("npm", ["run", "build"], join(OUT, "build.log"));
    if (code !== 0) throw new Error(`the build failed; see ${join(OUT, "build.log")}`);
  }

  const load = startLoad(options.load);
  const stopLoad = () => {
    for (const p of load) p.kill("SIGKILL");
  };
  process.on("SIGINT", () => {
    stopLoad();
    process.exit(130);
  });

  const results: { run: number; exitCode: number; seconds: number; load1: number; failures: string[] }[] = [];
  try {
    for (let n = 1; n <= options.runs; n++) {
      const logFile = join(OUT, `${mode}-${n}.log`);
      const started = performance.now();
      const exitCode = await run(command, args as string[], logFile);
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      const result = {
        run: n,
        exitCode,
        seconds,
        load1: Math.round(loadavg()[0]! * 10) / 10,
        failures: exitCode === 0 ? [] : await failures(logFile, options.images),
      };
      results.push(result);
      console.log(
        `${mode} run ${n}/${options.runs}: ${exitCode === 0 ? "passed" : `FAILED (exit ${exitCode})`} in ${seconds} s, load ${result.load1}${
          result.failures.length ? `\n  ${result.failures.join("\n  ")}\n  log: ${logFile}` : ""
        }`,
      );
    }
  } finally {
    stopLoad();
  }

  writeFileSync(
    join(OUT, `${mode}-summary.json`),
    `${JSON.stringify({ mode, load: options.load, files: options.files, results }, null, 2)}\n`,
  );
  const failed = results.filter((r) => r.exitCode !== 0).length;
  console.log(
    `${results.length - failed} of ${results.length} ${mode} runs passed with ${options.load} busy loop(s)`,
  );
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
