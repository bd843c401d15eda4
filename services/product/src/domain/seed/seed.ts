import { createHash } from "node:crypto";
import type { Logger } from "@shopstream/runtime";
import { productChanged } from "../events.js";
import { imageKey } from "../image-store.js";
import type { CatalogSeeder, ImageStore } from "../ports.js";
import type { ProductRecord } from "../product.js";
import { DEMO_CATALOG } from "./demo-catalog.js";
import { illustrate } from "./illustration.js";

/**
 * A name-based UUID (RFC 9562 version 5, URL namespace) from the SKU: a seed interrupted and
 * run again produces the same ids, so its images land under the same keys.
 */
export function demoProductId(sku: string): string {
  const namespace = Buffer.from("6ba7b8119dad11d180b400c04fd430c8", "hex");
  const hash = createHash("sha1").update(namespace).update(`https://shopstream.dev/demo/${sku}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function seedDemoCatalog(deps: {
  seeder: CatalogSeeder;
  images: ImageStore;
  logger: Logger;
  now?: Date;
}): Promise<number> {
  const now = (deps.now ?? new Date()).getTime();
  const seeded = await deps.seeder.seedOnce(async () => {
    const products: ProductRecord[] = [];
    for (const [i, demo] of DEMO_CATALOG.entries()) {
      const id = demoProductId(demo.sku);
      const png = illustrate(demo.name, demo.category);
      const sha256 = createHash("sha256").update(png).digest("hex");
      const key = imageKey(id, sha256, "image/png");
      await deps.images.put(key, png, "image/png");
      // A minute apart, in catalog order: "newest" lists them in a stable order.
      const at = new Date(now - (DEMO_CATALOG.length - i) * 60_000).toISOString();
      products.push({
        ...demo,
        id,
        currency: "EUR",
        image: { key, contentType: "image/png", sha256, size: png.length },
        createdAt: at,
        updatedAt: at,
      });
    }
    return { products, events: products.map((p) => productChanged(p.id)) };
  });
  if (seeded > 0) deps.logger.info({ products: seeded }, "seeded the demo catalog");
  return seeded;
}
