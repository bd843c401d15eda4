import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, isProblem } from "../support/http.js";
import { countRows, createProduct, type ProductTestbed, startProductTestbed } from "./helpers.js";

let bed: ProductTestbed;
let url: string;
let existing: { id: string };

beforeAll(async () => {
  bed = await startProductTestbed("validation");
  url = bed.url;
  existing = await createProduct(url, bed.adminToken, {
    sku: "VAL-1",
    name: "Valid Product",
    category: "Tools",
  });
});
afterAll(() => bed?.stop());

/** Every table a write could touch, so "nothing written" is checked, not assumed. */
const snapshot = async () =>
  Promise.all(["products", "outbox", "reservations"].map((t) => countRows(bed.platform, t)));

const fieldsOf = (res: { body: { errors?: { path: string }[] } }) =>
  (res.body.errors ?? []).map((e) => e.path);

const valid = { sku: "OK-1", name: "Fine", category: "Tools", priceCents: 100, currency: "EUR", stock: 1 };

describe("creating a product with bad input", () => {
  it("names each missing, unknown or mistyped field in a 400 problem, and writes nothing", async () => {
    const before = await snapshot();
    const cases: [unknown, string[]][] = [
      [{}, ["name", "category", "priceCents"]],
      [{ ...valid, colour: "red" }, [""]],
      [{ ...valid, id: "00000000-0000-4000-8000-000000000000" }, [""]],
      [{ ...valid, priceCents: "100" }, ["priceCents"]],
      [{ ...valid, priceCents: 9.99 }, ["priceCents"]],
      [{ ...valid, priceCents: -1 }, ["priceCents"]],
      [{ ...valid, priceCents: 1e12 }, ["priceCents"]],
      [{ ...valid, priceCents: null }, ["priceCents"]],
      [{ ...valid, stock: -5 }, ["stock"]],
      [{ ...valid, stock: 1.5 }, ["stock"]],
      [{ ...valid, stock: "lots" }, ["stock"]],
      [{ ...valid, currency: "eur" }, ["currency"]],
      [{ ...valid, currency: "EURO" }, ["currency"]],
      [{ ...valid, name: "" }, ["name"]],
      [{ ...valid, name: "   " }, ["name"]],
      [{ ...valid, name: "x".repeat(201) }, ["name"]],
      [{ ...valid, name: "line\nbreak" }, ["name"]],
      [{ ...valid, name: ["Fine"] }, ["name"]],
      [{ ...valid, category: { $ne: null } }, ["category"]],
      [{ ...valid, sku: "'; DROP TABLE products; --" }, ["sku"]],
      [{ ...valid, sku: "a b" }, ["sku"]],
      [{ ...valid, description: 42 }, ["description"]],
      [[valid], [""]],
    ];
    for (const [body, fields] of cases) {
      const res = await api(`${url}/products`, {
        token: bed.adminToken,
        body,
      });
      expect(isProblem(res, 400), `${JSON.stringify(body).slice(0, 80)} → ${res.status}`).toBe(true);
      expect(fieldsOf(res).sort(), JSON.stringify(body).slice(0, 80)).toEqual([...fields].sort());
    }
    expect(await snapshot()).toEqual(before);
  });

  it("answers malformed JSON with 400, a huge body with 413 and a non-JSON body with 415", async () => {
    const before = await snapshot();
    const send = (body: string, type: string) =>
      api(`${url}/products`, { token: bed.adminToken, body, headers: { "content-type": type } });
    expect(isProblem(await send('{"sku": "X-1",', "application/json"), 400)).toBe(true);
    expect((await send("{", "application/json")).body.title).toBe("Malformed JSON");
    expect(isProblem(await send('"just a string"', "application/json"), 400)).toBe(true);
    const huge = await send(
      JSON.stringify({ ...valid, description: "x".repeat(300_000) }),
      "application/json",
    );
    expect(isProblem(huge, 413)).toBe(true);
    expect(isProblem(await send("sku=X-1&name=Y", "application/x-www-form-urlencoded"), 415)).toBe(true);
    expect(isProblem(await send(JSON.stringify(valid), "text/plain"), 415)).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it("stores SQL-looking text as text", async () => {
    const name = "Robert'); DROP TABLE products; --";
    const created = await api(`${url}/products`, {
      token: bed.adminToken,
      body: { ...valid, sku: "SQL-1", name, description: "1' OR '1'='1", category: "Tools\\'" },
    });
    expect(created.status).toBe(201);
    expect((await api(`${url}/products/${created.body.id}`)).body).toMatchObject({
      name,
      description: "1' OR '1'='1",
      category: "Tools\\'",
    });
    expect(await countRows(bed.platform, "products")).toBeGreaterThan(1);
  });
});

describe("changing a product with bad input", () => {
  it("refuses empty, unknown and mistyped changes, and unknown ids, and writes nothing", async () => {
    const before = await snapshot();
    const patch = (id: string, body: unknown) =>
      api(`${url}/products/${id}`, { method: "PATCH", token: bed.adminToken, body });
    expect(isProblem(await patch(existing.id, {}), 400)).toBe(true);
    expect(fieldsOf(await patch(existing.id, { stock: -1 }))).toEqual(["stock"]);
    expect(fieldsOf(await patch(existing.id, { priceCents: -100 }))).toEqual(["priceCents"]);
    expect(fieldsOf(await patch(existing.id, { createdAt: "2020-01-01T00:00:00Z" }))).toEqual([""]);
    expect(fieldsOf(await patch(existing.id, { imageUrl: "http://evil.example/x.png" }))).toEqual([""]);
    expect(isProblem(await patch("00000000-0000-4000-8000-000000000000", { stock: 1 }), 404)).toBe(true);
    expect(isProblem(await patch("1 OR 1=1", { stock: 1 }), 404)).toBe(true);
    expect(
      isProblem(
        await api(`${url}/products/1;DELETE FROM products`, { method: "DELETE", token: bed.adminToken }),
        404,
      ),
    ).toBe(true);
    expect(await snapshot()).toEqual(before);
    expect((await api(`${url}/products/${existing.id}`)).body).toMatchObject({ stock: 10, priceCents: 1000 });
  });
});

describe("reading with bad input", () => {
  it("answers out-of-range and malformed list parameters with a 400 naming the parameter", async () => {
    const cases: [string, string][] = [
      ["limit=1000", "limit"],
      ["limit=0", "limit"],
      ["limit=-1", "limit"],
      ["limit=ten", "limit"],
      ["page=0", "page"],
      ["page=1.5", "page"],
      ["minPrice=-100", "minPrice"],
      ["maxPrice=abc", "maxPrice"],
      ["minPrice=500&maxPrice=100", "minPrice"],
      ["sort=price", "sort"],
      ["sort=price_asc;DROP TABLE products", "sort"],
      ["limit=1&limit=2", "limit"],
      [`q=${"a".repeat(201)}`, "q"],
      ["colour=red", ""],
    ];
    for (const [query, field] of cases) {
      const res = await api(`${url}/products?${query}`);
      expect(isProblem(res, 400), `${query} → ${res.status}`).toBe(true);
      expect(fieldsOf(res), query).toEqual([field]);
    }
  });

  it("treats empty parameters as absent, as a search form sends them", async () => {
    const res = await api(`${url}/products?q=&category=&minPrice=&maxPrice=&sort=&page=&limit=`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, limit: 20 });
    expect(res.body.total).toBeGreaterThanOrEqual(1);
  });

  it("takes SQL-looking search words and categories as words, never as SQL", async () => {
    const all = (await api(`${url}/products`)).body.total;
    for (const query of [
      "q=%27%20OR%201%3D1%20--",
      "q=%22)%20UNION%20SELECT%20*%20FROM%20outbox%20--",
      "q=*",
      "q=%2B-%3E%3C()~*%22",
      "category=%27%20OR%20%271%27%3D%271",
      "category=Tools%27%20--",
    ]) {
      const res = await api(`${url}/products?${query}`);
      expect(res.status, query).toBe(200);
      expect(res.body.total, query).toBeLessThan(all);
    }
    // Only products whose text holds those very words match them.
    await createProduct(url, bed.adminToken, { sku: "SQL-WORDS", description: "Ships in 1 box, or in 2" });
    const words = await api(`${url}/products?q=${encodeURIComponent("' OR 1=1 --")}`);
    expect(words.body.total).toBeGreaterThanOrEqual(1);
    for (const p of words.body.items as { name: string; description: string }[]) {
      expect(`${p.name} ${p.description}`.toLowerCase()).toMatch(/\bor\b/);
      expect(`${p.name} ${p.description}`).toContain("1");
    }
    expect((await api(`${url}/products?category=${encodeURIComponent("' OR '1'='1")}`)).body.total).toBe(0);
  });

  it("answers ids that are not product ids with a 404 problem", async () => {
    for (const id of [
      "42",
      "1%20OR%201%3D1",
      "..%2F..%2Fetc%2Fpasswd",
      "00000000-0000-4000-8000-000000000000",
    ]) {
      expect(isProblem(await api(`${url}/products/${id}`), 404), id).toBe(true);
      expect(isProblem(await api(`${url}/products/${id}/image`), 404), id).toBe(true);
    }
    expect(isProblem(await api(`${url}/no-such-route`), 404)).toBe(true);
  });
});
