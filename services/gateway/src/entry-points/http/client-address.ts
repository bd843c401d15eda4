import type { IncomingMessage } from "node:http";

const TRUSTED = /^(::ffff:)?(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)|^::1$|^f[cd]/i;

/**
 * The client's address as Express's `req.ip` computes it with `trust proxy` set to loopback,
 * link-local and unique-local hops: X-Forwarded-For counts only from a private hop, and the
 * right-most address that is not one of ours is the client.
 */
export function addressOf(req: IncomingMessage): string {
  const peer = req.socket.remoteAddress ?? "unknown";
  if (!TRUSTED.test(peer)) return peer;
  const header = req.headers["x-forwarded-for"];
  if (!header) return peer;
  const forwarded = String(header)
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  for (let i = forwarded.length - 1; i >= 0; i--) {
    if (!TRUSTED.test(forwarded[i]!)) return forwarded[i]!;
  }
  return forwarded[0] ?? peer;
}
