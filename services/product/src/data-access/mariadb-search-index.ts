import type { Db } from "@shopstream/runtime";
import type { SearchIndex, SearchQuery } from "../domain/ports.js";
import { filterClause, ORDER_BY } from "./product-rows.js";

const MAX_TERMS = 12;
/** innodb_ft_max_token_size's default; longer words are never in the index. */
const MAX_TOKEN = 84;

/** The shopper's words: letters and digits only, so no full-text operator or SQL gets through. */
export const searchTerms = (text: string): string[] => [
  ...new Set((text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, MAX_TERMS)),
];

/**
 * Search on the `products` table's InnoDB FULLTEXT indexes. Every word must match: words the
 * index holds (at least innodb_ft_min_token_size characters) as boolean-mode prefixes, so
 * "headph" finds headphones; shorter words ("tv", "4k") by LIKE, since the index has none.
 * Relevance is natural-language scoring, with matches in the name counting double.
 */
export function createMariaDbSearchIndex(db: Db): SearchIndex {
  let minToken: number | undefined;
  const minTokenSize = async () => {
    if (minToken === undefined) {
      const [row] = await db.query("SELECT @@innodb_ft_min_token_size AS n");
      minToken = Number(row?.n ?? 3);
    }
    return minToken;
  };

  async function buildQuery(query: SearchQuery) {
    const min = await minTokenSize();
    const terms = searchTerms(query.text);
    const indexed = terms.filter((t) => [...t].length >= min && [...t].length <= MAX_TOKEN);
    const unindexed = terms.filter((t) => !indexed.includes(t));

    const textSql: string[] = [];
    const textParams: unknown[] = [];
    if (indexed.length) {
      textSql.push("MATCH(name, description) AGAINST (? IN BOOLEAN MODE)");
      textParams.push(indexed.map((t) => `+${t}*`).join(" "));
    }
    for (const t of unindexed) {
      textSql.push("(name LIKE ? OR description LIKE ?)");
      textParams.push(`%${t}%`, `%${t}%`);
    }
    // A query that is exactly a SKU finds that product too.
    const matchSql = textSql.length ? `((${textSql.join(" AND ")}) OR sku = ?)` : "sku = ?";
    textParams.push(query.text.trim());

    const filter = filterClause(query);
    const where = [matchSql, ...filter.sql].join(" AND ");
    const whereParams = [...textParams, ...filter.params];

    const scoreSql: string[] = [];
    const scoreParams: unknown[] = [];
    if (indexed.length) {
      scoreSql.push(
        "MATCH(name) AGAINST (? IN BOOLEAN MODE) * 2",
        "MATCH(name, description) AGAINST (? IN NATURAL LANGUAGE MODE)",
      );
      scoreParams.push(indexed.map((t) => `${t}*`).join(" "), indexed.join(" "));
    }
    for (const t of unindexed) {
      scoreSql.push("(name LIKE ?)");
      scoreParams.push(`%${t}%`);
    }
    return { where, whereParams, score: scoreSql.join(" + ") || "0", scoreParams };
  }

  return {
    backend: "mariadb",
    // The table is the index: InnoDB maintains it with every committed write.
    async index() {},
    async remove() {},
    async ensure() {},
    async reindex(all) {
      let n = 0;
      for await (const _ of all) n++;
      return n;
    },
    async ready() {
      await db.query("SELECT 1 FROM products LIMIT 1");
    },

    async search(query) {
      const q = await buildQuery(query);
      const order = query.sort === "relevance" ? `score DESC, ${ORDER_BY.newest}` : ORDER_BY[query.sort];
      const [rows, counted] = await Promise.all([
        db.query(
          `SELECT id, ${q.score} AS score FROM products WHERE ${q.where} ORDER BY ${order} LIMIT ? OFFSET ?`,
          [...q.scoreParams, ...q.whereParams, query.limit, query.offset],
        ) as Promise<{ id: string }[]>,
        db.query(`SELECT COUNT(*) AS n FROM products WHERE ${q.where}`, q.whereParams) as Promise<
          { n: number }[]
        >,
      ]);
      return { ids: rows.map((r) => r.id), total: Number(counted[0]?.n ?? 0) };
    },
  };
}
