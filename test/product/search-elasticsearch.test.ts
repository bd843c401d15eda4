import { createRequire } from "node:module";
import { Client, errors } from "@elastic/elasticsearch";
import type * as ElasticsearchMock from "@elastic/elasticsearch-mock";
import { createLogger } from "@shopstream/runtime";
import { beforeEach, describe, expect, it } from "vitest";
import {
  createElasticsearchIndex,
  INDEX_MAPPINGS,
} from "../../services/product/src/data-access/elasticsearch-search-index.js";
import type { ProductRecord, SearchDocument } from "../../services/product/src/domain/product.js";
import {
  rebuildSearchIndex,
  type SyncStore,
  syncProduct,
} from "../../services/product/src/domain/search-sync.js";

// CommonJS (`module.exports = Mocker`) typed as `export default`: under NodeNext the class is
// `.default.default` for the type checker and the module itself for Node, so load it as Node does.
const Mock: typeof ElasticsearchMock.default.default = createRequire(import.meta.url)(
  "@elastic/elasticsearch-mock",
);
type MockPattern = ElasticsearchMock.MockPattern;

const logger = createLogger("test", process.env.TEST_LOG_LEVEL ?? "silent");
const ALIAS = "products";

let mock: InstanceType<typeof Mock>;
let requests: MockPattern[];
let client: Client;

/** Answers `method path` with `answer` and records every request it gets. */
function route(
  method: string,
  path: string,
  answer: (req: MockPattern) => Record<string, unknown> | Error = () => ({}),
) {
  mock.add({ method, path }, (req) => {
    requests.push(req);
    return answer(req) as Record<string, unknown>;
  });
}
const notFound = () =>
  new errors.ResponseError({
    body: { error: { type: "index_not_found_exception" }, status: 404 },
    statusCode: 404,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
const calls = () => requests.map((r) => `${r.method} ${r.path}`);

const doc = (n: number): SearchDocument => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
  sku: `SKU-${n}`,
  name: `Product ${n}`,
  description: "A thing",
  category: "Audio",
  priceCents: 100 * n,
  currency: "EUR",
  createdAt: "2026-01-01T00:00:00.000Z",
});

async function* docs(n: number): AsyncIterable<SearchDocument> {
  for (let i = 1; i <= n; i++) yield doc(i);
}

beforeEach(() => {
  mock = new Mock();
  requests = [];
  client = new Client({ node: "http://localhost:9200", Connection: mock.getConnection() });
});

const index = () => createElasticsearchIndex({ client, alias: ALIAS, logger });

describe("Elasticsearch search", () => {
  it("asks for every word, with filters, sort and page, and maps the hits to ids and a total", async () => {
    route("POST", "/products/_search", () => ({
      took: 1,
      timed_out: false,
      hits: {
        total: { value: 42, relation: "eq" },
        hits: [
          { _id: "a", _score: 2 },
          { _id: "b", _score: 1 },
        ],
      },
    }));
    const result = await index().search({
      text: "wireless headph",
      category: "Audio",
      minPriceCents: 1000,
      maxPriceCents: 20000,
      sort: "price_asc",
      offset: 20,
      limit: 10,
    });
    expect(result).toEqual({ ids: ["a", "b"], total: 42 });
    const body = requests[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({ from: 20, size: 10, track_total_hits: true, _source: false });
    expect(body.sort).toEqual([{ priceCents: "asc" }, { id: "asc" }]);
    expect(body.query).toEqual({
      bool: {
        must: [
          {
            bool: {
              should: [
                {
                  multi_match: {
                    query: "wireless headph",
                    type: "best_fields",
                    fields: ["name^3", "description", "category^2"],
                    operator: "and",
                    fuzziness: "AUTO",
                  },
                },
                {
                  multi_match: {
                    query: "wireless headph",
                    type: "bool_prefix",
                    fields: ["name^3", "description"],
                    operator: "and",
                  },
                },
                { term: { sku: { value: "wireless headph", boost: 10 } } },
              ],
              minimum_should_match: 1,
            },
          },
        ],
        filter: [{ term: { category: "Audio" } }, { range: { priceCents: { gte: 1000, lte: 20000 } } }],
      },
    });
  });

  it("ranks by relevance, then newest, and pages past the result window without asking for hits", async () => {
    route("POST", "/products/_search", (req) => ({
      hits: { total: 12_345, hits: (req.body as { size: number }).size ? [{ _id: "x" }] : [] },
    }));
    expect(await index().search({ text: "lamp", sort: "relevance", offset: 0, limit: 5 })).toEqual({
      ids: ["x"],
      total: 12_345,
    });
    expect((requests[0]!.body as { sort: unknown }).sort).toEqual([
      "_score",
      { createdAt: "desc" },
      { id: "asc" },
    ]);
    expect((requests[0]!.body as { query: { bool: { filter: unknown } } }).query.bool.filter).toEqual([]);
    expect(await index().search({ text: "lamp", sort: "name", offset: 10_000, limit: 5 })).toEqual({
      ids: [],
      total: 12_345,
    });
    expect(requests[1]!.body).toMatchObject({
      from: 0,
      size: 0,
      sort: [{ "name.sort": "asc" }, { id: "asc" }],
    });
  });

  it("writes a product through the alias only, so it can never auto-create an unmapped index", async () => {
    route("PUT", "/products/_doc/:id", () => ({ result: "created" }));
    await index().index(doc(7));
    expect(requests).toEqual([
      {
        method: "PUT",
        path: `/products/_doc/${doc(7).id}`,
        querystring: { require_alias: "true" },
        body: doc(7),
      },
    ]);
  });

  it("treats removing a product the index does not hold as done", async () => {
    route("DELETE", "/products/_doc/:id", () => notFound());
    await expect(index().remove(doc(1).id)).resolves.toBeUndefined();
    expect(calls()).toEqual([`DELETE /products/_doc/${doc(1).id}`]);
  });

  it("rebuilds into a new index in bulk, then swaps the alias in one step and drops the old index", async () => {
    route("HEAD", "/_alias/products");
    route("GET", "/_alias/products", () => ({ "products-old": { aliases: { products: {} } } }));
    route("PUT", "/:index", (req) => ({ acknowledged: true, index: req.path.slice(1) }));
    route("POST", "/_bulk", (req) => ({
      errors: false,
      items: (req.body as object[]).filter((_, i) => i % 2 === 0).map(() => ({ index: { status: 201 } })),
    }));
    route("GET", "/:index/_refresh");
    route("POST", "/_aliases", () => ({ acknowledged: true }));
    route("DELETE", "/:index", () => ({ acknowledged: true }));

    expect(await index().reindex(docs(1200))).toBe(1200);

    const target = requests[0]!.path.slice(1);
    expect(target).toMatch(/^products-\d{14}-[0-9a-f]{6}$/);
    expect(calls()).toEqual([
      `PUT /${target}`,
      "POST /_bulk",
      "POST /_bulk",
      "POST /_bulk",
      `GET /${target}/_refresh`,
      "HEAD /_alias/products",
      "GET /_alias/products",
      "POST /_aliases",
      "DELETE /products-old",
    ]);
    expect(requests[0]!.body).toMatchObject({ mappings: INDEX_MAPPINGS });
    const bulks = requests.filter((r) => r.path === "/_bulk").map((r) => r.body as Record<string, unknown>[]);
    expect(bulks.map((b) => b.length / 2)).toEqual([500, 500, 200]);
    expect(bulks[2]!.slice(-2)).toEqual([{ index: { _index: target, _id: doc(1200).id } }, doc(1200)]);
    expect(requests.find((r) => r.path === "/_aliases")!.body).toEqual({
      actions: [
        { remove: { index: "products-old", alias: "products" } },
        { add: { index: target, alias: "products", is_write_index: true } },
      ],
    });
  });

  it("leaves the live index alone and removes the half-built one when bulk indexing fails", async () => {
    route("PUT", "/:index", () => ({ acknowledged: true }));
    route("POST", "/_bulk", () => ({
      errors: true,
      items: [
        {
          index: {
            _id: doc(1).id,
            status: 400,
            error: { type: "strict_dynamic_mapping_exception", reason: "nope" },
          },
        },
      ],
    }));
    route("DELETE", "/:index", () => ({ acknowledged: true }));
    await expect(index().reindex(docs(3))).rejects.toThrow(/bulk indexing failed.*nope/);
    const target = requests[0]!.path;
    expect(calls()).toEqual([`PUT ${target}`, "POST /_bulk", `DELETE ${target}`]);
  });

  it("replaces a stray index that took the alias's name, in the same atomic step", async () => {
    route("HEAD", "/products");
    route("PUT", "/:index", () => ({ acknowledged: true }));
    route("POST", "/_bulk", () => ({ errors: false, items: [] }));
    route("GET", "/:index/_refresh");
    route("POST", "/_aliases", () => ({ acknowledged: true }));
    await index().reindex(docs(1));
    const target = requests[0]!.path.slice(1);
    expect(requests.find((r) => r.path === "/_aliases")!.body).toEqual({
      actions: [
        { remove_index: { index: "products" } },
        { add: { index: target, alias: "products", is_write_index: true } },
      ],
    });
  });

  it("builds the index at start only when the alias does not exist, and is ready only once it does", async () => {
    route("HEAD", "/_alias/products");
    await index().ensure(() => docs(2));
    await index().ready();
    expect(calls()).toEqual(["HEAD /_alias/products", "HEAD /_alias/products"]);

    mock.clearAll();
    requests = [];
    // No route for HEAD /_alias/products: the mock answers 404, as a missing alias does.
    route("HEAD", "/products", () => notFound());
    route("PUT", "/:index", () => ({ acknowledged: true }));
    route("POST", "/_bulk", () => ({ errors: false, items: [] }));
    route("GET", "/:index/_refresh");
    route("POST", "/_aliases", () => ({ acknowledged: true }));
    await expect(index().ready()).rejects.toThrow(/does not exist/);
    await index().ensure(() => docs(2));
    expect(calls().filter((c) => c !== "HEAD /products")).toEqual([
      expect.stringMatching(/^PUT \/products-/),
      "POST /_bulk",
      expect.stringMatching(/^GET \/products-.*\/_refresh$/),
      "POST /_aliases",
    ]);
  });
});

describe("keeping the index in line with the catalog", () => {
  const record = (n: number): ProductRecord => ({
    ...doc(n),
    stock: 1,
    image: null,
    updatedAt: doc(n).createdAt,
  });
  const store = (products: ProductRecord[], changed: ProductRecord[] = []): SyncStore => ({
    findById: async (id) => products.find((p) => p.id === id) ?? null,
    async *all() {
      yield* products;
    },
    async *changedSince() {
      yield* changed;
    },
  });

  it("indexes a product that exists and removes one that does not, whatever the event said", async () => {
    route("PUT", "/products/_doc/:id", () => ({ result: "updated" }));
    route("DELETE", "/products/_doc/:id", () => ({ result: "deleted" }));
    await syncProduct(store([record(1)]), index(), doc(1).id);
    await syncProduct(store([record(1)]), index(), doc(2).id);
    expect(calls()).toEqual([`PUT /products/_doc/${doc(1).id}`, `DELETE /products/_doc/${doc(2).id}`]);
    expect(requests[0]!.body).toEqual(doc(1));
  });

  it("replays changes made while a rebuild was filling the new index", async () => {
    route("PUT", "/:index", () => ({ acknowledged: true }));
    route("POST", "/_bulk", () => ({ errors: false, items: [] }));
    route("GET", "/:index/_refresh");
    route("POST", "/_aliases", () => ({ acknowledged: true }));
    route("PUT", "/products/_doc/:id", () => ({ result: "updated" }));
    const renamed = { ...record(2), name: "Renamed meanwhile" };
    expect(await rebuildSearchIndex(store([record(1), record(2)], [renamed]), index())).toBe(2);
    expect(calls().at(-2)).toBe("POST /_aliases");
    expect(calls().at(-1)).toBe(`PUT /products/_doc/${doc(2).id}`);
    expect(requests.at(-1)!.body).toMatchObject({ name: "Renamed meanwhile" });
  });
});
