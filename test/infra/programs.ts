/**
 * Helpers for checking generated configuration with the real programs Debian ships
 * (config-programs*.test.ts): a program's presence, a run's exit code and output, a free port on
 * the loopback interface, and a wait for a port to accept connections.
 */
import { execFileSync } from "node:child_process";
import { connect, createServer } from "node:net";

export function need(program: string, pkg: string): void {
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
  } catch {
    throw new Error(`${program} is missing: apt-get install ${pkg} (.ci/run installs it)`);
  }
}

export function run(
  program: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): { code: number; out: string } {
  try {
    const out = execFileSync(program, args, { encoding: "utf8", stdio: "pipe", ...options });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Resolves once `port` accepts a connection; `alive` says whether the server still runs. */
export async function portOpen(port: number, what: string, ms: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1")
        .once("connect", () => {
          socket.destroy();
          resolve(true);
        })
        .once("error", () => resolve(false));
    });
    if (open) return;
    if (!alive()) throw new Error(`${what} exited before it listened`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
