import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { authService } from "../../services/auth/src/service.js";
import { productService } from "../../services/product/src/service.js";
import { api } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { adminSession, registerUser } from "../support/users.js";

/**
 * Signs access tokens shaped exactly like auth's (EdDSA, iss, aud, sub, role) with a key of its
 * own, and serves that key's JWKS: a well-formed admin token that auth never issued.
 */
export async function startTokenIssuer() {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const kid = randomUUID();
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" }] });
  const server = createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" }).end(jwks);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    token(role: "customer" | "admin", options: { expiresAt?: number } = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ role })
        .setProtectedHeader({ alg: "EdDSA", kid })
        .setSubject(randomUUID())
        .setIssuer("shopstream-auth")
        .setAudience("shopstream")
        .setIssuedAt(options.expiresAt ? options.expiresAt - 900 : now)
        .setExpirationTime(options.expiresAt ?? now + 900)
        .sign(privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ProductTestbed {
  platform: TestPlatform;
  url: string;
  /** An access token of the platform's admin account, issued by auth. */
  adminToken: string;
  /** An access token of a freshly registered customer. */
  customerToken: string;
  imagesDir: string;
  stop(): Promise<void>;
}

/**
 * Auth and the product service on this machine's MariaDB, Redis and RabbitMQ, with images in a
 * temp dir; product verifies tokens against auth's JWKS, as it does in the platform.
 */
export async function startProductTestbed(
  label: string,
  env: Record<string, string> = {},
): Promise<ProductTestbed> {
  const imagesDir = mkdtempSync(join(tmpdir(), "shopstream-images-"));
  const platform = await startTestPlatform({
    label,
    services: { auth: authService, product: productService },
    env: { product: { IMAGES_DIR: imagesDir, SEED_DEMO_CATALOG: "false", ...env } },
  });
  try {
    const [admin, customer] = await Promise.all([
      adminSession(platform),
      registerUser(platform.url("auth"), { name: "Product Test Customer" }),
    ]);
    return {
      platform,
      url: platform.url("product"),
      adminToken: admin.accessToken,
      customerToken: customer.accessToken,
      imagesDir,
      async stop() {
        await platform.stop();
        rmSync(imagesDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await platform.stop();
    throw err;
  }
}

let skuCounter = 0;

export interface ProductInput {
  sku?: string;
  name?: string;
  description?: string;
  category?: string;
  priceCents?: number;
  currency?: string;
  stock?: number;
}

/** Creates a product through the admin API and returns its JSON. */
export async function createProduct(url: string, token: string, input: ProductInput = {}) {
  skuCounter += 1;
  const res = await api(`${url}/products`, {
    token,
    body: {
      sku: `T-${process.pid}-${skuCounter}`,
      name: `Test product ${skuCounter}`,
      description: "A product made by a test",
      category: "Testing",
      priceCents: 1000,
      stock: 10,
      ...input,
    },
  });
  if (res.status !== 201) throw new Error(`creating a product answered ${res.status}: ${res.text}`);
  return res.body as { id: string; sku: string; name: string; stock: number; priceCents: number };
}

/** Counts rows of a table in the product database, to prove that bad input wrote nothing. */
export async function countRows(platform: TestPlatform, table: string): Promise<number> {
  const [row] = await platform.db("product").query<{ n: number }[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
  return Number(row?.n ?? 0);
}
