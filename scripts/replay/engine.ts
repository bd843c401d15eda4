/**
 * The Docker Engine API over its Unix socket: the calls the Docker provider makes to create what
 * the program declares (networks, volumes, containers, uploads into them) and the ones the
 * replay needs to watch and remove them. No CLI in between, so each request carries exactly the
 * fields the provider would send.
 */
import { request } from "node:http";

const API = "/v1.41";

export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function socketPath(): string {
  const host = process.env.DOCKER_HOST;
  if (!host) return "/var/run/docker.sock";
  if (!host.startsWith("unix://"))
    throw new Error(`the replay talks to a local engine only (DOCKER_HOST=${host})`);
  return host.slice("unix://".length);
}

interface Call {
  query?: Record<string, string | number | boolean>;
  json?: unknown;
  tar?: Buffer;
  /** Upper bound for the whole call. */
  timeoutMs?: number;
}

/** One API call; the parsed JSON body (or text), or an EngineError with the engine's message. */
export function call<T = unknown>(method: string, path: string, options: Call = {}): Promise<T> {
  const query = options.query
    ? `?${new URLSearchParams(Object.fromEntries(Object.entries(options.query).map(([k, v]) => [k, String(v)])))}`
    : "";
  const body =
    options.tar ?? (options.json !== undefined ? Buffer.from(JSON.stringify(options.json)) : undefined);
  const headers: Record<string, string> = {};
  if (body) {
    headers["content-type"] = options.tar ? "application/x-tar" : "application/json";
    headers["content-length"] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socketPath(),
        method,
        path: `${API}${path}${query}`,
        headers,
        timeout: options.timeoutMs ?? 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          if (/json/.test(res.headers["content-type"] ?? "") && text) parsed = JSON.parse(text);
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            const message = (parsed as { message?: string })?.message ?? text;
            reject(new EngineError(status, `${method} ${path}: ${status} ${message}`));
          } else resolve(parsed as T);
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`${method} ${path}: no answer in ${options.timeoutMs ?? 60_000} ms`)),
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Ignores "not found" (the object is already gone). */
export async function gone(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof EngineError && err.status === 404)) throw err;
  }
}

/** A tar archive of regular files, as the provider builds it for `upload` (ustar, one header each). */
export function tarOf(
  files: { path: string; content: string | Buffer; mode: number; uid: number; gid: number }[],
): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const data = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content, "utf8");
    const name = f.path.replace(/^\/+/, "");
    const header = Buffer.alloc(512);
    let prefix = "";
    let base = name;
    if (Buffer.byteLength(name) > 100) {
      const cut = name.lastIndexOf("/", 155);
      prefix = name.slice(0, cut);
      base = name.slice(cut + 1);
    }
    const field = (value: string, offset: number, length: number) =>
      header.write(value, offset, length, "utf8");
    const octal = (value: number, offset: number, length: number) =>
      field(`${value.toString(8).padStart(length - 1, "0")}\0`, offset, length);
    field(base, 0, 100);
    octal(f.mode, 100, 8);
    octal(f.uid, 108, 8);
    octal(f.gid, 116, 8);
    octal(data.length, 124, 12);
    octal(Math.floor(Date.now() / 1000), 136, 12);
    field("        ", 148, 8);
    field("0", 156, 1);
    field("ustar\0", 257, 6);
    field("00", 263, 2);
    field(prefix, 345, 155);
    let sum = 0;
    for (const byte of header) sum += byte;
    field(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  ExitCode: number;
  OOMKilled: boolean;
  Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] };
}

export interface ContainerInfo {
  Id: string;
  Name: string;
  State: ContainerState;
  Config: { User: string; Labels: Record<string, string>; Env?: string[] };
  HostConfig: Record<string, unknown>;
  /** The `json-file` log on the engine's host. */
  LogPath?: string;
  Mounts: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
  NetworkSettings: { Networks: Record<string, { IPAddress: string; Aliases: string[] | null }> };
}

export const inspect = (id: string) =>
  call<ContainerInfo>("GET", `/containers/${encodeURIComponent(id)}/json`);

/** A raw call whose answer is Docker's multiplexed stream (logs, exec), as text. */
function streamed(method: string, path: string, json?: unknown): Promise<string> {
  const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socketPath(),
        method,
        path: `${API}${path}`,
        headers: body ? { "content-type": "application/json", "content-length": String(body.length) } : {},
        timeout: 120_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          // Without a TTY each frame is [stream, 0, 0, 0, size (4 bytes, big-endian)] + payload.
          const raw = Buffer.concat(chunks);
          const out: Buffer[] = [];
          for (let i = 0; i + 8 <= raw.length; ) {
            const size = raw.readUInt32BE(i + 4);
            out.push(raw.subarray(i + 8, i + 8 + size));
            i += 8 + size;
          }
          resolve(Buffer.concat(out).toString("utf8"));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** The last lines a container wrote (stdout and stderr). */
export async function logs(id: string, tail = 40): Promise<string> {
  return (
    await streamed("GET", `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&tail=${tail}`)
  ).trimEnd();
}

/** Runs a command in a running container as its user; exit code and output. */
export async function execIn(id: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const created = await call<{ Id: string }>("POST", `/containers/${encodeURIComponent(id)}/exec`, {
    json: { Cmd: cmd, AttachStdout: true, AttachStderr: true },
  });
  const output = await streamed("POST", `/exec/${created.Id}/start`, { Detach: false, Tty: false });
  const info = await call<{ ExitCode: number }>("GET", `/exec/${created.Id}/json`);
  return { code: info.ExitCode, output };
}
