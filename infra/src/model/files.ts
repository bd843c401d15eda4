/**
 * The files a workload's process reads and the user it runs as: the same in every container
 * target (Docker, Swarm, Kubernetes, images:test), so they belong to none of them.
 */
import { containerResolver, secretsOf } from "./env.js";
import type { SecretName, Workload } from "./types.js";

/** A file a workload's process reads, and where its content comes from. */
export type FileSource =
  | { kind: "secret"; secret: SecretName }
  | { kind: "secret-file"; name: string }
  | { kind: "config"; name: string };

export interface WorkloadFile {
  path: string;
  source: FileSource;
  /** Secrets are readable by the workload's user only; config files by everyone. */
  mode: number;
  /** The image ships other files in its directory (see `ConfigFile.besideImageFiles`). */
  besideImageFiles?: boolean;
}

/** Every file a workload needs: its secrets at /run/secrets/<name>, then its generated files. */
export function filesOf(w: Workload): WorkloadFile[] {
  const secrets = secretsOf(w).map(
    (secret): WorkloadFile => ({
      path: containerResolver.secretPath(secret),
      source: { kind: "secret", secret },
      mode: 0o400,
    }),
  );
  const configs = w.configFiles.map(
    (f): WorkloadFile => ({
      path: f.mountPath,
      source: f.secret ? { kind: "secret-file", name: f.name } : { kind: "config", name: f.name },
      mode: f.secret ? 0o400 : 0o444,
      ...(f.besideImageFiles ? { besideImageFiles: true } : {}),
    }),
  );
  return [...secrets, ...configs];
}

/** The fewest directories that hold every file (a directory inside another one is dropped). */
export function fileDirectories(files: WorkloadFile[]): string[] {
  const dirs = [...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf("/")) || "/"))].sort();
  return dirs.filter((d) => !dirs.some((other) => other !== d && d.startsWith(`${other}/`)));
}

/** `uid` and `gid` the workload runs as (root when the image's default user is kept). */
export function userIds(w: Workload): { uid: string; gid: string } {
  const [uid = "0", gid = uid] = (w.user ?? "0:0").split(":");
  return { uid, gid };
}
