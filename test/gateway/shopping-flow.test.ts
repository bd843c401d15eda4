import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authService } from "../../services/auth/src/service.js";
import { cartService } from "../../services/cart/src/service.js";
import { gatewayService } from "../../services/gateway/src/service.js";
import { productService } from "../../services/product/src/service.js";
import { api, isProblem } from "../support/http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { adminSession, login, registerUser, type Session, uniqueEmail } from "../support/users.js";

// The public API (docs/architecture.md) as a shopper and an admin meet it: every call goes through the gateway's /api,
// with the real auth (tokens, JWKS), product (seeded demo catalog) and cart services behind it.

interface Product {
  id: string;
  name: string;
  category: string;
  priceCents: number;
  currency: string;
  stock: number;
  imageUrl: string | null;
}

describe("shopping through the gateway", () => {
  let platform: TestPlatform;
  let imagesDir = "";
  let api_ = "";
  let shopper: Session & { password: string };
  let admin: Session;

  beforeAll(async () => {
    imagesDir = mkdtempSync(join(tmpdir(), "shopstream-flow-images-"));
    platform = await startTestPlatform({
      label: "gateway_flow",
      services: { auth: authService, product: productService, cart: cartService, gateway: gatewayService },
      env: { product: { IMAGES_DIR: imagesDir } },
    });
    api_ = `${platform.url("gateway")}/api`;
  });
  afterAll(async () => {
    await platform?.stop();
    rmSync(imagesDir, { recursive: true, force: true });
  });

  it("registers, logs in and knows who is signed in", async () => {
    const email = uniqueEmail("shopper");
    shopper = await registerUser(platform.url("gateway"), { email, name: "Ada Shopper" }, "/api/auth");
    expect(shopper.user).toMatchObject({ email, name: "Ada Shopper", role: "customer" });
    expect(typeof shopper.accessToken).toBe("string");
    expect(typeof shopper.refreshToken).toBe("string");

    const session = await login(platform.url("gateway"), email, shopper.password, "/api/auth");
    expect(session.user.id).toBe(shopper.user.id);
    shopper = { ...session, password: shopper.password };

    const me = await api(`${api_}/auth/me`, { token: shopper.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: shopper.user.id, email, role: "customer" });
    expect(isProblem(await api(`${api_}/auth/me`), 401)).toBe(true);

    const wrong = await api(`${api_}/auth/login`, { body: { email, password: "not-the-password" } });
    expect(isProblem(wrong, 401)).toBe(true);
  });

  it("browses the catalog: filters, sorting, pagination and one product", async () => {
    const page = await api(`${api_}/products?limit=5&page=1`);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ page: 1, limit: 5 });
    expect(page.body.items).toHaveLength(5);
    expect(page.body.total).toBeGreaterThanOrEqual(24);

    const categories = [
      ...new Set((await api(`${api_}/products?limit=100`)).body.items.map((p: Product) => p.category)),
    ];
    expect(categories.length).toBeGreaterThan(1);
    const category = categories[0] as string;
    const filtered = await api(
      `${api_}/products?category=${encodeURIComponent(category)}&sort=price_asc&limit=100`,
    );
    const prices = filtered.body.items.map((p: Product) => p.priceCents);
    expect(filtered.body.items.every((p: Product) => p.category === category)).toBe(true);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));

    const cheap = await api(`${api_}/products?maxPrice=2000&limit=100`);
    expect(cheap.body.items.every((p: Product) => p.priceCents <= 2000)).toBe(true);

    const first = page.body.items[0] as Product;
    const one = await api(`${api_}/products/${first.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: first.id, currency: "EUR" });
    expect(Number.isInteger(one.body.priceCents)).toBe(true);
    expect(isProblem(await api(`${api_}/products?sort=cheapest`), 400)).toBe(true);
  });

  it("fills the cart, changes a quantity with the total right, removes a line and clears it", async () => {
    const token = shopper.accessToken;
    const items = (await api(`${api_}/products?sort=price_asc&limit=100`)).body.items as Product[];
    const [a, b] = items.filter((p) => p.stock >= 5);
    if (!a || !b) throw new Error("the demo catalog has no two products with stock");

    const added = await api(`${api_}/cart/items`, { token, body: { productId: a.id, quantity: 2 } });
    expect(added.status).toBe(201);
    expect(added.body.items[0]).toMatchObject({
      productId: a.id,
      quantity: 2,
      lineTotalCents: a.priceCents * 2,
    });
    await api(`${api_}/cart/items`, { token, body: { productId: b.id, quantity: 1 } });

    const changed = await api(`${api_}/cart/items/${a.id}`, {
      method: "PATCH",
      token,
      body: { quantity: 3 },
    });
    expect(changed.status).toBe(200);
    const cart = await api(`${api_}/cart`, { token });
    expect(
      cart.body.items.map((i: { productId: string; quantity: number }) => [i.productId, i.quantity]),
    ).toEqual([
      [a.id, 3],
      [b.id, 1],
    ]);
    expect(cart.body.totalCents).toBe(a.priceCents * 3 + b.priceCents);
    expect(cart.body.currency).toBe("EUR");

    const removed = await api(`${api_}/cart/items/${b.id}`, { method: "DELETE", token });
    expect(removed.body.items.map((i: { productId: string }) => i.productId)).toEqual([a.id]);
    expect(removed.body.totalCents).toBe(a.priceCents * 3);

    expect((await api(`${api_}/cart`, { method: "DELETE", token })).status).toBe(204);
    expect((await api(`${api_}/cart`, { token })).body).toEqual({
      items: [],
      totalCents: 0,
      currency: "EUR",
    });
  });

  it("lets an admin manage the catalog (and only an admin), and the cart follows the new price", async () => {
    admin = await adminSession(platform, platform.url("gateway"), "/api/auth");
    expect(admin.user.role).toBe("admin");
    const created = await api(`${api_}/products`, {
      token: admin.accessToken,
      body: {
        sku: `FLOW-${Date.now()}`,
        name: "Flow test teapot",
        category: "Kitchen",
        priceCents: 2500,
        stock: 4,
      },
    });
    expect(created.status).toBe(201);
    const teapot = created.body as Product;
    const asCustomer = await api(`${api_}/products`, {
      token: shopper.accessToken,
      body: { sku: "NOPE-1", name: "Nope", category: "Kitchen", priceCents: 1 },
    });
    expect(isProblem(asCustomer, 403)).toBe(true);
    expect(isProblem(await api(`${api_}/products/${teapot.id}`, { method: "DELETE" }), 401)).toBe(true);

    const token = shopper.accessToken;
    await api(`${api_}/cart/items`, { token, body: { productId: teapot.id, quantity: 2 } });
    expect((await api(`${api_}/cart`, { token })).body.totalCents).toBe(5000);
    const patched = await api(`${api_}/products/${teapot.id}`, {
      method: "PATCH",
      token: admin.accessToken,
      body: { priceCents: 1999 },
    });
    expect(patched.status).toBe(200);
    const cart = await api(`${api_}/cart`, { token });
    expect(cart.body.items[0]).toMatchObject({
      productId: teapot.id,
      unitPriceCents: 1999,
      lineTotalCents: 3998,
    });
    expect(cart.body.totalCents).toBe(3998);

    const short = await api(`${api_}/cart/items`, { token, body: { productId: teapot.id, quantity: 3 } });
    expect(isProblem(short, 409)).toBe(true);
    expect(short.body).toMatchObject({ productId: teapot.id, available: 4, inCart: 2 });

    // The one-pixel PNG: an image upload streams through the gateway to the product service.
    const png = Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
      "base64",
    );
    const upload = await api(`${api_}/products/${teapot.id}/image`, {
      method: "PUT",
      token: admin.accessToken,
      body: png,
      headers: { "content-type": "image/png" },
    });
    expect(upload.status).toBe(200);
    expect(upload.body.imageUrl).toBe(`/api/products/${teapot.id}/image`);
    const image = await fetch(`${platform.url("gateway")}${upload.body.imageUrl}`);
    expect(image.status).toBe(200);
    expect(Buffer.from(await image.arrayBuffer()).equals(png)).toBe(true);
    await api(`${api_}/cart`, { method: "DELETE", token });
  });

  it("refuses tokens forged against the real auth keys: another key with auth's kid, alg none", async () => {
    const jwks = (await api(`${platform.url("auth")}/.well-known/jwks.json`)).body as {
      keys: { kid: string }[];
    };
    const kid = jwks.keys[0]!.kid;
    const catalogSize = (await api(`${api_}/products`)).body.total;
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const forged = await new SignJWT({ role: "admin" })
      .setProtectedHeader({ alg: "EdDSA", kid })
      .setSubject(shopper.user.id)
      .setIssuer("shopstream-auth")
      .setAudience("shopstream")
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(privateKey);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const unsigned = `${b64({ alg: "none", kid })}.${b64({
      sub: shopper.user.id,
      role: "admin",
      iss: "shopstream-auth",
      aud: "shopstream",
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 600,
    })}.`;
    for (const token of [forged, unsigned]) {
      expect(isProblem(await api(`${api_}/cart`, { token }), 401)).toBe(true);
      expect(isProblem(await api(`${api_}/auth/me`, { token }), 401)).toBe(true);
      const write = await api(`${api_}/products`, {
        token,
        body: { sku: "FORGED-1", name: "Forged", category: "Kitchen", priceCents: 1 },
      });
      expect(isProblem(write, 401)).toBe(true);
    }
    expect((await api(`${api_}/products`)).body.total).toBe(catalogSize);
  });

  it("keeps the internal APIs out of reach", async () => {
    for (const path of [
      `/internal/carts/${shopper.user.id}`,
      "/cart/../internal/carts/x",
      "/products/internal/reservations",
    ]) {
      const res = await api(`${api_}${path}`, { token: shopper.accessToken });
      expect(isProblem(res, 404), path).toBe(true);
    }
    const reserve = await api(`${api_}/internal/reservations`, {
      token: admin.accessToken,
      body: { orderId: "x", items: [] },
    });
    expect(isProblem(reserve, 404)).toBe(true);
  });

  it("rotates refresh tokens, revokes the family on reuse, and logs out", async () => {
    const first = await api(`${api_}/auth/refresh`, { body: { refreshToken: shopper.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(shopper.refreshToken);
    const reused = await api(`${api_}/auth/refresh`, { body: { refreshToken: shopper.refreshToken } });
    expect(isProblem(reused, 401)).toBe(true);
    // Reuse revoked the whole family, so the rotated token is dead too.
    const rotated = await api(`${api_}/auth/refresh`, { body: { refreshToken: first.body.refreshToken } });
    expect(isProblem(rotated, 401)).toBe(true);

    const fresh = await login(platform.url("gateway"), shopper.user.email, shopper.password, "/api/auth");
    const out = await api(`${api_}/auth/logout`, {
      token: fresh.accessToken,
      body: { refreshToken: fresh.refreshToken },
    });
    expect(out.status).toBe(204);
    const after = await api(`${api_}/auth/refresh`, { body: { refreshToken: fresh.refreshToken } });
    expect(isProblem(after, 401)).toBe(true);
  });
});
