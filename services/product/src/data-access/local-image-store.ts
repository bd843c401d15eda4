import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { assertImageKey } from "../domain/image-store.js";
import type { ImageStore } from "../domain/ports.js";

/** Images as files under one folder (a volume in a container, `.shopstream/images` locally). */
export function createLocalImageStore(directory: string): ImageStore {
  const root = resolve(directory);
  const pathOf = (key: string) => join(root, ...assertImageKey(key).split("/"));

  return {
    backend: "local",
    async init() {
      await mkdir(root, { recursive: true });
    },
    async put(key, data) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      // Written aside and renamed: a reader never sees half an image.
      const partial = `${path}.${randomBytes(4).toString("hex")}.partial`;
      await writeFile(partial, data);
      await rename(partial, path);
    },
    async get(key) {
      try {
        // Opened here so that a missing file is a null, not an error in the middle of an answer.
        const file = await open(pathOf(key), "r");
        return file.createReadStream({ highWaterMark: 64 * 1024 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw err;
      }
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
    async ready() {
      await access(root, constants.R_OK | constants.W_OK);
    },
  };
}
