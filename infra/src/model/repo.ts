import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: this file lives in infra/src/model/ (infra/dist/model/ once built). */
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");
