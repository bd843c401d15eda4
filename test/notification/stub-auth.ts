import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

/**
 * Signs access tokens the way auth does (EdDSA, the model's issuer and audience) and serves the
 * JWKS, so tokens can be made expired, short-lived or forged on demand.
 */
export async function stubAuth() {
  const real = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const forger = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = { ...(await exportJWK(real.publicKey)), kid: "test", alg: "EdDSA", use: "sig" };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sign = (
    userId: string,
    options: { expiresInSeconds?: number; forged?: boolean; role?: "customer" | "admin" } = {},
  ) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ role: options.role ?? "customer" })
      .setProtectedHeader({ alg: "EdDSA", kid: "test" })
      .setSubject(userId)
      .setIssuer("shopstream-auth")
      .setAudience("shopstream")
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresInSeconds ?? 900))
      .sign(options.forged ? forger.privateKey : real.privateKey);
  };

  return {
    jwksUrl: `${url}/.well-known/jwks.json`,
    /** A new customer: a fresh user id and a valid access token. */
    async user(options: { expiresInSeconds?: number } = {}) {
      const id = randomUUID();
      return { id, accessToken: await sign(id, options) };
    },
    sign,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
