import { buildPlatform, findWorkload, localSettings } from "@shopstream/infra/model";
import { describe, expect, it } from "vitest";

describe("product images kept in a folder", () => {
  it("get a writable volume at IMAGES_DIR in a container target, whose root filesystem is read-only", () => {
    const platform = buildPlatform(localSettings({ environment: "dev", images: "local" }));
    const product = findWorkload(platform, "product");
    expect(product.readOnlyRootFilesystem).toBe(true);
    expect(product.env.IMAGES_DIR).toBe("/data/images");
    expect(product.volumes).toEqual([
      expect.objectContaining({ mountPath: "/data/images", ownedBy: "1000:1000" }),
    ]);
  });

  it("stay in the checkout's .shopstream folder in the local run, and are absent with MinIO", () => {
    expect(findWorkload(buildPlatform(localSettings()), "product").volumes).toEqual([]);
    const withMinio = buildPlatform(localSettings({ environment: "dev", images: "minio" }));
    expect(findWorkload(withMinio, "product").volumes).toEqual([]);
  });
});
