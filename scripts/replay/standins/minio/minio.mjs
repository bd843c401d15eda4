#!/usr/bin/env node
// `minio server <dir>` for the replay: s3rver (an S3 server in Node.js) on :9000, storing in
// <dir>, accepting exactly one key pair, MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (or the files
// their _FILE twins name), as MinIO does,
// and answering MinIO's health and metrics paths. Any write to <dir> fails as MinIO's would
// when the directory is not the process's to write.
import { accessSync, constants, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";

const require = createRequire("/opt/minio/");
const S3rver = require("s3rver");
const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account");

const [command, dir] = process.argv.slice(2);
if (command !== "server" || !dir) {
  process.stderr.write("usage: minio server <dir>\n");
  process.exit(2);
}
// As MinIO: a variable or the file its _FILE twin names (absolute, or a Docker secret's name).
const fromEnv = (name) => {
  const file = process.env[`${name}_FILE`];
  if (process.env[name]) return process.env[name];
  if (!file) return undefined;
  try {
    return readFileSync(file.startsWith("/") ? file : `/run/secrets/${file}`, "utf8").trim();
  } catch {
    return undefined;
  }
};
const user = fromEnv("MINIO_ROOT_USER");
const password = fromEnv("MINIO_ROOT_PASSWORD");
if (!user || !password) {
  process.stderr.write("MINIO_ROOT_USER and MINIO_ROOT_PASSWORD are required\n");
  process.exit(1);
}
try {
  accessSync(dir, constants.W_OK);
} catch {
  process.stderr.write(`ERROR Unable to use the drive ${dir}: drive is not writable\n`);
  process.exit(1);
}
DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
DUMMY_ACCOUNT.createKeyPair(user, password);

const s3 = new S3rver({ directory: dir, silent: true, resetOnClose: false });
const handle = s3.callback();
createServer((req, res) => {
  if (req.url?.startsWith("/minio/health/")) {
    res.writeHead(200).end();
    return;
  }
  if (req.url?.startsWith("/minio/v2/metrics/")) {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end("minio_node_online 1\n");
    return;
  }
  handle(req, res);
}).listen(9000, "0.0.0.0", () => process.stdout.write(`S3-API: http://0.0.0.0:9000 (s3rver on ${dir})\n`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
