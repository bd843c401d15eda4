import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { createInterface } from "node:readline";

const COLORS = [36, 35, 33, 32, 34, 91, 96, 95, 93, 92];
const useColor = process.stdout.isTTY || Boolean(process.env.FORCE_COLOR);
const paint = (code: number, text: string) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);
const LEVEL_COLORS: Record<string, number> = {
  error: 31,
  fatal: 31,
  warn: 33,
  info: 32,
  debug: 90,
  trace: 90,
};

/** One pino JSON line as a short human line; anything else passes through unchanged. */
export function formatLogLine(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, service: _s, pid: _p, hostname: _h, req: _req, res: _res, ...rest } = entry;
    const clock = typeof time === "string" ? time.slice(11, 19) : "";
    const lvl = String(level ?? "info");
    const extras = Object.entries(rest)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
      .join(" ");
    return `${paint(90, clock)} ${paint(LEVEL_COLORS[lvl] ?? 37, lvl.padEnd(5))} ${String(msg ?? "")}${extras ? ` ${paint(90, extras)}` : ""}`;
  } catch {
    return line;
  }
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The last lines it printed, for a failure report. */
  tail: string[];
}

export function startProcess(
  name: string,
  index: number,
  command: string,
  args: string[],
  options: {
    cwd: string;
    env: Record<string, string>;
    width: number;
    /** Writes the raw log lines to this file instead of the terminal (the bench: no parsing cost). */
    logFile?: string;
  },
): ManagedProcess {
  if (options.logFile) {
    const fd = openSync(options.logFile, "a");
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { name, child, exited, tail: [`(logs in ${options.logFile})`] };
  }
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = paint(COLORS[index % COLORS.length]!, `${name.padEnd(options.width)} |`);
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on("line", (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      process.stdout.write(`${prefix} ${formatLogLine(line)}\n`);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { name, child, exited, tail };
}

/** Polls `url` until it answers 2xx; rejects when the process exits first or time runs out. */
export async function waitUntilReady(proc: ManagedProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc.exited.then((code) => {
    exitCode = code;
  });
  let last = "";
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`${proc.name} exited with code ${exitCode} before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${proc.name} was not ready within ${timeoutMs / 1000} s (${url}: ${last})`);
}

/** SIGTERM to each, last started first; SIGKILL after the grace period. */
export async function stopAll(
  processes: ManagedProcess[],
  graceMs: number,
): Promise<{ name: string; code: number | null }[]> {
  const results: { name: string; code: number | null }[] = [];
  for (const proc of [...processes].reverse()) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      results.push({ name: proc.name, code: proc.child.exitCode });
      continue;
    }
    proc.child.kill("SIGTERM");
    const timer = setTimeout(() => proc.child.kill("SIGKILL"), graceMs);
    const code = await proc.exited;
    clearTimeout(timer);
    results.push({ name: proc.name, code });
  }
  return results;
}
