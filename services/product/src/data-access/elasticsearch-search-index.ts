import { randomBytes } from "node:crypto";
import { Client, type estypes } from "@elastic/elasticsearch";
import type { Logger } from "@shopstream/runtime";
import type { SearchIndex, SearchQuery } from "../domain/ports.js";
import type { ProductSort, SearchDocument } from "../domain/product.js";

/** Elasticsearch refuses from + size beyond this (index.max_result_window). */
export const MAX_RESULT_WINDOW = 10_000;
const BULK_SIZE = 500;

/** Bounded waits: a slow or absent cluster yields errors (and a 503), never a hang. */
export function createElasticsearchClient(url: string): Client {
  return new Client({ node: url, requestTimeout: 5000, maxRetries: 1 });
}

export const INDEX_SETTINGS: estypes.IndicesIndexSettings = {
  analysis: {
    normalizer: { lowercase: { type: "custom", filter: ["lowercase", "asciifolding"] } },
  },
};

/** Strict: a document with a field the mapping does not know is refused, not guessed at. */
export const INDEX_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: "strict",
  properties: {
    id: { type: "keyword" },
    sku: { type: "keyword", normalizer: "lowercase" },
    name: { type: "text", fields: { sort: { type: "keyword", normalizer: "lowercase" } } },
    description: { type: "text" },
    category: { type: "keyword", normalizer: "lowercase" },
    priceCents: { type: "long" },
    currency: { type: "keyword" },
    createdAt: { type: "date" },
  },
};

const SORTS: Record<ProductSort, estypes.SortCombinations[]> = {
  relevance: ["_score", { createdAt: "desc" }, { id: "asc" }],
  price_asc: [{ priceCents: "asc" }, { id: "asc" }],
  price_desc: [{ priceCents: "desc" }, { id: "asc" }],
  name: [{ "name.sort": "asc" }, { id: "asc" }],
  newest: [{ createdAt: "desc" }, { id: "desc" }],
};

/** Every word must match, in the name (worth more), the description or the category; typos
 * are forgiven and the last word may be unfinished; an exact SKU matches too. */
export function searchQueryBody(query: SearchQuery): estypes.QueryDslQueryContainer {
  const filter: estypes.QueryDslQueryContainer[] = [];
  if (query.category !== undefined) filter.push({ term: { category: query.category } });
  if (query.minPriceCents !== undefined || query.maxPriceCents !== undefined) {
    filter.push({
      range: {
        priceCents: {
          ...(query.minPriceCents !== undefined ? { gte: query.minPriceCents } : {}),
          ...(query.maxPriceCents !== undefined ? { lte: query.maxPriceCents } : {}),
        },
      },
    });
  }
  return {
    bool: {
      must: [
        {
          bool: {
            should: [
              {
                multi_match: {
                  query: query.text,
                  type: "best_fields",
                  fields: ["name^3", "description", "category^2"],
                  operator: "and",
                  fuzziness: "AUTO",
                },
              },
              {
                multi_match: {
                  query: query.text,
                  type: "bool_prefix",
                  fields: ["name^3", "description"],
                  operator: "and",
                },
              },
              { term: { sku: { value: query.text, boost: 10 } } },
            ],
            minimum_should_match: 1,
          },
        },
      ],
      filter,
    },
  };
}

/**
 * Search in Elasticsearch through an alias. Writes go to the alias and need it to exist
 * (`require_alias`), so a write can never auto-create a badly mapped index in its place.
 * `reindex` builds a fresh index beside the live one and swaps the alias in one atomic step.
 */
export function createElasticsearchIndex(options: {
  client: Client;
  alias: string;
  logger: Logger;
}): SearchIndex {
  const { client, alias, logger } = options;

  const aliasTargets = async (): Promise<string[]> => {
    if (!(await client.indices.existsAlias({ name: alias }))) return [];
    return Object.keys(await client.indices.getAlias({ name: alias }));
  };

  const bulkIndex = async (index: string, docs: SearchDocument[]) => {
    const res = await client.bulk({
      operations: docs.flatMap((doc) => [{ index: { _index: index, _id: doc.id } }, doc]),
    });
    if (res.errors) {
      const failed = res.items.find((item) => item.index?.error)?.index;
      throw new Error(
        `bulk indexing failed for ${failed?._id}: ${failed?.error?.reason ?? "unknown reason"}`,
      );
    }
  };

  const reindex: SearchIndex["reindex"] = async (all) => {
    const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    const target = `${alias}-${stamp}-${randomBytes(3).toString("hex")}`;
    await client.indices.create({ index: target, settings: INDEX_SETTINGS, mappings: INDEX_MAPPINGS });
    let count = 0;
    try {
      let batch: SearchDocument[] = [];
      for await (const doc of all) {
        batch.push(doc);
        if (batch.length >= BULK_SIZE) {
          await bulkIndex(target, batch);
          count += batch.length;
          batch = [];
        }
      }
      if (batch.length) {
        await bulkIndex(target, batch);
        count += batch.length;
      }
      await client.indices.refresh({ index: target });
      const previous = await aliasTargets();
      // An index (not an alias) of the alias's name can only be a stray auto-created one.
      const stray = previous.length === 0 && (await client.indices.exists({ index: alias }));
      await client.indices.updateAliases({
        actions: [
          ...(stray ? [{ remove_index: { index: alias } }] : []),
          ...previous.map((index) => ({ remove: { index, alias } })),
          { add: { index: target, alias, is_write_index: true } },
        ],
      });
      for (const old of previous) await client.indices.delete({ index: old }, { ignore: [404] });
    } catch (err) {
      await client.indices.delete({ index: target }, { ignore: [404] }).catch(() => undefined);
      throw err;
    }
    logger.info({ index: target, alias, products: count }, "search index rebuilt");
    return count;
  };

  return {
    backend: "elasticsearch",

    async index(doc) {
      await client.index({ index: alias, id: doc.id, document: doc, require_alias: true });
    },

    async remove(id) {
      await client.delete({ index: alias, id }, { ignore: [404] });
    },

    async search(query) {
      // Past the result window there is nothing to show, but the total still is.
      const beyond = query.offset >= MAX_RESULT_WINDOW;
      const res = await client.search({
        index: alias,
        query: searchQueryBody(query),
        sort: SORTS[query.sort],
        from: beyond ? 0 : query.offset,
        size: beyond ? 0 : Math.min(query.limit, MAX_RESULT_WINDOW - query.offset),
        track_total_hits: true,
        _source: false,
      });
      const total = typeof res.hits.total === "number" ? res.hits.total : (res.hits.total?.value ?? 0);
      return { ids: res.hits.hits.map((hit) => hit._id).filter((id): id is string => Boolean(id)), total };
    },

    reindex,

    async ensure(all) {
      if (await client.indices.existsAlias({ name: alias })) return;
      await reindex(all());
    },

    async ready() {
      if (!(await client.indices.existsAlias({ name: alias }))) {
        throw new Error(`search index alias ${alias} does not exist yet`);
      }
    },
  };
}
