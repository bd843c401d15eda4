/**
 * The Docker CLI, as `images:test` uses it: commands with captured output, the image builder
 * (BuildKit when this machine has one, the classic builder otherwise) and container state.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every child still running, so that a signal can stop them before cleanup. */
const running = new Set<ChildProcess>();

/** Whether a process of this id still runs (signal 0 only asks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function stopRunningCommands(): void {
  for (const child of running) child.kill("SIGTERM");
}

export function exec(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string; inherit?: boolean } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", options.inherit ? "inherit" : "pipe", options.inherit ? "inherit" : "pipe"],
    });
    running.add(child);
    const log = options.logFile ? createWriteStream(options.logFile) : undefined;
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d;
      log?.write(d);
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d;
      log?.write(d);
    });
    child.once("error", (err) => {
      running.delete(child);
      reject(err);
    });
    child.once("close", (code, signal) => {
      running.delete(child);
      log?.end();
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** `docker <args>`; its stdout, or an error carrying its stderr. */
export async function docker(args: string[]): Promise<string> {
  const r = await exec("docker", args);
  if (r.code !== 0) {
    throw new Error(`docker ${args.slice(0, 3).join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  }
  return r.stdout.trim();
}

export interface Builder {
  name: "buildkit" | "classic";
  command: string;
  env: NodeJS.ProcessEnv;
}

/**
 * BuildKit, which the Pulumi program's image builds use too: the CLI's buildx plugin, or the
 * older Debian client with its built-in BuildKit. The classic builder otherwise, or when
 * IMAGES_BUILDER=classic. The Dockerfiles build with either.
 */
export async function pickBuilder(wanted = process.env.IMAGES_BUILDER): Promise<Builder> {
  const buildkitEnv = { ...process.env, DOCKER_BUILDKIT: "1" };
  if (wanted !== "classic") {
    if ((await exec("docker", ["buildx", "version"])).code === 0) {
      return { name: "buildkit", command: "docker", env: buildkitEnv };
    }
    // Clients before 23 build with BuildKit without buildx.
    const debianClient = "/usr/bin/docker";
    if (existsSync(debianClient)) {
      const v = await exec(debianClient, ["version", "--format", "{{.Client.Version}}"]);
      if (v.code === 0 && Number.parseInt(v.stdout, 10) < 23) {
        return { name: "buildkit", command: debianClient, env: buildkitEnv };
      }
    }
    if (wanted === "buildkit") throw new Error("IMAGES_BUILDER=buildkit, but no BuildKit client was found");
  }
  return { name: "classic", command: "docker", env: { ...process.env, DOCKER_BUILDKIT: "0" } };
}

export interface BuildRequest {
  dockerfile: string;
  context: string;
  args: Record<string, string>;
  /** Omitted: an untagged image (its id is returned). */
  tag?: string;
  /** A stage of a multi-stage Dockerfile to stop at. */
  target?: string;
  labels: Record<string, string>;
  logFile: string;
}

/** Builds one image; returns its id and the seconds it took. Fails with the log's tail. */
export async function buildImage(
  builder: Builder,
  req: BuildRequest,
): Promise<{ id: string; seconds: number }> {
  const iidFile = `${req.logFile}.iid`;
  const args = ["build", "-f", req.dockerfile, "--iidfile", iidFile];
  if (builder.name === "buildkit") args.push("--progress=plain");
  for (const [k, v] of Object.entries(req.args)) args.push("--build-arg", `${k}=${v}`);
  for (const [k, v] of Object.entries(req.labels)) args.push("--label", `${k}=${v}`);
  if (req.tag) args.push("-t", req.tag);
  if (req.target) args.push("--target", req.target);
  args.push(req.context);
  const t0 = performance.now();
  const r = await exec(builder.command, args, { env: builder.env, logFile: req.logFile });
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-25).join("\n");
    throw new Error(`docker build -f ${req.dockerfile} failed (log: ${req.logFile}):\n${tail}`);
  }
  const id = readFileSync(iidFile, "utf8").trim();
  return { id, seconds };
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  OOMKilled: boolean;
  ExitCode: number;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] };
}

export async function containerState(name: string): Promise<ContainerState> {
  return JSON.parse(await docker(["inspect", "-f", "{{json .State}}", name])) as ContainerState;
}

/** The last lines a container printed, for a failure report. */
export async function containerLogs(name: string, lines = 30): Promise<string> {
  const r = await exec("docker", ["logs", "--tail", String(lines), name]);
  return `${r.stdout}${r.stderr}`.trim();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
