import { IMAGE_TYPES, type ImageType } from "./product.js";

/** Keys are built by the service, never taken from a request; this still refuses anything odd. */
export const IMAGE_KEY = /^[a-z0-9][a-z0-9-]{0,63}\/[a-f0-9]{64}\.(png|jpg|webp)$/;

export function assertImageKey(key: string): string {
  if (!IMAGE_KEY.test(key)) throw new Error(`refusing image key ${JSON.stringify(key)}`);
  return key;
}

const EXTENSIONS: Record<ImageType, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
};

export const imageKey = (productId: string, sha256: string, type: ImageType) =>
  `${productId}/${sha256}.${EXTENSIONS[type]}`;

export const isImageType = (value: string): value is ImageType =>
  (IMAGE_TYPES as readonly string[]).includes(value);

/**
 * The type the bytes themselves say, from their magic numbers; null for anything else. The
 * declared Content-Type is never trusted on its own: a text file labelled image/png is not one.
 */
export function sniffImageType(data: Buffer): ImageType | null {
  const startsWith = (bytes: number[], at = 0) =>
    data.length >= at + bytes.length && bytes.every((b, i) => data[at + i] === b);
  if (startsWith([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) && data.length > 24) return "image/png";
  if (startsWith([0xff, 0xd8, 0xff]) && data.length > 4) return "image/jpeg";
  // RIFF <size> WEBP, then a VP8 / VP8L / VP8X chunk.
  if (
    startsWith([0x52, 0x49, 0x46, 0x46]) &&
    startsWith([0x57, 0x45, 0x42, 0x50], 8) &&
    startsWith([0x56, 0x50, 0x38], 12)
  )
    return "image/webp";
  return null;
}
