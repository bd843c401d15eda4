import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

/**
 * Stand-ins for auth (a JWKS and tokens), cart and product that follow
 * docs/service-contracts.md, so the order service can be driven into failures the real
 * services would not produce on demand (a product that fails mid-reservation).
 */

type Handler = (
  req: IncomingMessage,
  body: unknown,
) =>
  | { status: number; body?: unknown }
  | Promise<{
      status: number;
      body?: unknown;
    }>;

async function serve(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const answer = await handler(req, text ? JSON.parse(text) : undefined);
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Signs access tokens the way auth does (EdDSA, issuer and audience of the model). */
export async function stubAuth() {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const jwk = { ...(await exportJWK(publicKey)), kid: "test", alg: "EdDSA", use: "sig" };
  const { url, server } = await serve(() => ({ status: 200, body: { keys: [jwk] } }));
  return {
    jwksUrl: `${url}/.well-known/jwks.json`,
    async token(userId: string, role: "customer" | "admin" = "customer") {
      return new SignJWT({ role })
        .setProtectedHeader({ alg: "EdDSA", kid: "test" })
        .setSubject(userId)
        .setIssuer("shopstream-auth")
        .setAudience("shopstream")
        .setIssuedAt()
        .setExpirationTime("15m")
        .sign(privateKey);
    },
    stop: () => close(server),
  };
}

export interface StubProduct {
  id: string;
  name: string;
  priceCents: number;
  stock: number;
}

/** Product's reservation API over an in-memory catalog; `failNext` makes reservations answer 500. */
export async function stubProductService(products: StubProduct[]) {
  const catalog = new Map(products.map((p) => [p.id, { ...p }]));
  const reservations = new Map<
    string,
    { status: "reserved" | "released"; items: { productId: string; quantity: number }[] }
  >();
  const state: {
    failReservations: number;
    reserveCalls: number;
    releaseCalls: number;
    /** Awaited after a reservation is recorded and before it is answered (a slow answer). */
    afterReserve?: (orderId: string) => Promise<void>;
    /** Awaited before a release is applied (a slow release). */
    beforeRelease?: (orderId: string) => Promise<void>;
  } = { failReservations: 0, reserveCalls: 0, releaseCalls: 0 };
  const lines = (items: { productId: string; quantity: number }[]) =>
    items.map((i) => {
      const p = catalog.get(i.productId)!;
      return {
        productId: p.id,
        name: p.name,
        unitPriceCents: p.priceCents,
        currency: "EUR",
        quantity: i.quantity,
      };
    });
  const { url, server } = await serve(async (req, body) => {
    const path = req.url ?? "";
    if (req.method === "POST" && path === "/internal/reservations") {
      state.reserveCalls++;
      const { orderId, items } = body as {
        orderId: string;
        items: { productId: string; quantity: number }[];
      };
      const existing = reservations.get(orderId);
      if (existing?.status === "released") {
        return { status: 410, body: { status: 410, title: "Gone", orderId } };
      }
      if (existing) return { status: 200, body: { orderId, items: lines(existing.items) } };
      for (const i of items) {
        const p = catalog.get(i.productId);
        if (!p) return { status: 404, body: { status: 404, title: "Not Found", productId: i.productId } };
        if (p.stock < i.quantity) {
          return {
            status: 409,
            body: { status: 409, title: "Conflict", productId: p.id, available: p.stock },
          };
        }
      }
      for (const i of items) catalog.get(i.productId)!.stock -= i.quantity;
      reservations.set(orderId, { status: "reserved", items });
      await state.afterReserve?.(orderId);
      if (state.failReservations > 0) {
        // Reserved, but the answer is lost: the order service cannot know it happened.
        state.failReservations--;
        return { status: 500, body: { status: 500, title: "Internal Server Error" } };
      }
      return { status: 201, body: { orderId, items: lines(items) } };
    }
    const release = /^\/internal\/reservations\/([^/]+)\/release$/.exec(path);
    if (req.method === "POST" && release) {
      state.releaseCalls++;
      const orderId = decodeURIComponent(release[1]!);
      await state.beforeRelease?.(orderId);
      const r = reservations.get(orderId);
      if (!r) {
        // A release that overtook its reservation: the late reservation will be refused.
        reservations.set(orderId, { status: "released", items: [] });
        return { status: 200, body: { orderId, released: false } };
      }
      if (r.status === "released") return { status: 200, body: { orderId, released: false } };
      for (const i of r.items) catalog.get(i.productId)!.stock += i.quantity;
      r.status = "released";
      return { status: 200, body: { orderId, released: true } };
    }
    return { status: 404, body: { status: 404, title: "Not Found" } };
  });
  return {
    url,
    state,
    stock: (id: string) => catalog.get(id)?.stock,
    reservations,
    reserve(orderId: string, items: { productId: string; quantity: number }[]) {
      for (const i of items) catalog.get(i.productId)!.stock -= i.quantity;
      reservations.set(orderId, { status: "reserved", items });
    },
    stop: () => close(server),
  };
}

/** The cart service's internal read, and its removal after a checkout: one cart per user id. */
export async function stubCartService() {
  const carts = new Map<string, { productId: string; name: string; quantity: number }[]>();
  const applied = new Set<string>();
  const { url, server } = await serve((req, body) => {
    const removal = /^\/internal\/carts\/([^/]+)\/checkouts$/.exec(req.url ?? "");
    if (req.method === "POST" && removal) {
      const userId = decodeURIComponent(removal[1]!);
      const { orderId, items } = body as {
        orderId: string;
        items: { productId: string; quantity: number }[];
      };
      if (applied.has(orderId)) return { status: 200, body: { orderId, applied: false } };
      applied.add(orderId);
      const left = (carts.get(userId) ?? [])
        .map((line) => {
          const ordered = items.find((i) => i.productId === line.productId)?.quantity ?? 0;
          return { ...line, quantity: line.quantity - ordered };
        })
        .filter((line) => line.quantity > 0);
      carts.set(userId, left);
      return { status: 200, body: { orderId, applied: true } };
    }
    const match = /^\/internal\/carts\/([^/]+)$/.exec(req.url ?? "");
    if (req.method !== "GET" || !match) return { status: 404, body: { status: 404, title: "Not Found" } };
    const items = carts.get(decodeURIComponent(match[1]!)) ?? [];
    return {
      status: 200,
      body: {
        items: items.map((i) => ({
          ...i,
          unitPriceCents: 1000,
          currency: "EUR",
          lineTotalCents: 1000 * i.quantity,
          stock: 100,
          imageUrl: null,
          available: true,
        })),
        totalCents: items.reduce((s, i) => s + 1000 * i.quantity, 0),
        currency: "EUR",
      },
    };
  });
  return { url, carts, applied, stop: () => close(server) };
}

export const newUserId = () => randomUUID();
