import type { Client } from "minio";
import { assertImageKey } from "../domain/image-store.js";
import type { ImageStore } from "../domain/ports.js";

const code = (err: unknown) => (err as { code?: string }).code;

/** Images as objects in one MinIO (S3) bucket, created at start when missing. */
export function createMinioImageStore(options: {
  client: Client;
  bucket: string;
  region: string;
}): ImageStore {
  const { client, bucket, region } = options;
  return {
    backend: "minio",
    async init() {
      if (await client.bucketExists(bucket)) return;
      try {
        await client.makeBucket(bucket, region);
      } catch (err) {
        // Another replica made it a moment ago.
        if (code(err) !== "BucketAlreadyOwnedByYou" && code(err) !== "BucketAlreadyExists") throw err;
      }
    },
    async put(key, data, contentType) {
      await client.putObject(bucket, assertImageKey(key), data, data.length, { "Content-Type": contentType });
    },
    async get(key) {
      try {
        // The object's body as it arrives from MinIO.
        return await client.getObject(bucket, assertImageKey(key));
      } catch (err) {
        if (code(err) === "NoSuchKey" || code(err) === "NotFound") return null;
        throw err;
      }
    },
    async delete(key) {
      await client.removeObject(bucket, assertImageKey(key));
    },
    async ready() {
      if (!(await client.bucketExists(bucket))) throw new Error(`bucket ${bucket} does not exist`);
    },
  };
}
