#!/usr/bin/env node
// `mc ready local` for the replay: succeeds when the server on :9000 answers MinIO's readiness
// path, as the real `mc ready` does for the `local` alias.
const [command, alias] = process.argv.slice(2);
if (command !== "ready" || alias !== "local") {
  process.stderr.write("this stand-in mc knows only `mc ready local`\n");
  process.exit(2);
}
fetch("http://127.0.0.1:9000/minio/health/ready", { signal: AbortSignal.timeout(3000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
