import { useEffect, useState } from "preact/hooks";
import { api, type ProductSort } from "../api";
import { AddToCartButton, StockNote } from "../components/AddToCart";
import { Empty, ErrorMessage, Loading, Money, PageTitle, ProductImage } from "../components/ui";
import { type Async, useAsync, useTitle } from "../hooks";
import { href, navigate } from "../router";
import { createStore, useStore } from "../store";
import type { Page, Product } from "../types";

export const PAGE_SIZE = 12;

/** Sort orders offered to shoppers; the value is passed to the API's `sort` parameter as is. */
export const SORTS: [ProductSort | "", string][] = [
  ["", "Best match"],
  ["price_asc", "Price: low to high"],
  ["price_desc", "Price: high to low"],
  ["name", "Name: A to Z"],
  ["newest", "Newest first"],
];

// There is no categories endpoint: the categories are the distinct ones of the first catalog page.
const categoriesStore = createStore<string[] | null>(null);
let categoriesRequested = false;

function useCategories(): string[] {
  const categories = useStore(categoriesStore);
  useEffect(() => {
    if (categoriesRequested) return;
    categoriesRequested = true;
    api.products({ limit: 100 }).then(
      (page) => categoriesStore.set([...new Set(page.items.map((item) => item.category))].sort()),
      () => {
        categoriesRequested = false;
      },
    );
  }, []);
  return categories ?? [];
}

/** Whole currency units typed in a filter → cents for the API. */
function unitsToCents(text: string | null): number | undefined {
  if (!text) return undefined;
  const units = Number(text);
  return Number.isFinite(units) && units >= 0 ? Math.round(units * 100) : undefined;
}

export function CatalogPage(props: { query: URLSearchParams }) {
  const { query } = props;
  const q = query.get("q") ?? "";
  const category = query.get("category") ?? "";
  const sort = query.get("sort") ?? "";
  // A sort the API does not know (an old or edited link) is left out: best match.
  const knownSort = SORTS.find(([value]) => value !== "" && value === sort)?.[0] || undefined;
  const min = query.get("min") ?? "";
  const max = query.get("max") ?? "";
  const page = Math.max(1, Number(query.get("page")) || 1);
  const categories = useCategories();
  const filters = { q, category, sort, min, max };

  useTitle(category ? category : q ? `Search: ${q}` : "Shop");
  const results = useAsync(
    (signal) =>
      api.products(
        {
          q,
          category,
          sort: knownSort,
          minPrice: unitsToCents(min),
          maxPrice: unitsToCents(max),
          page,
          limit: PAGE_SIZE,
        },
        signal,
      ),
    [q, category, sort, min, max, page],
  );

  const heading = category || (q ? `Results for “${q}”` : "All products");
  const allCategories = category && !categories.includes(category) ? [category, ...categories] : categories;

  return (
    <section aria-labelledby="page-title">
      <PageTitle>{heading}</PageTitle>
      {categories.length > 0 && (
        <nav aria-label="Categories" class="categories">
          <ul class="chips">
            <li>
              <a class="chip" href={href("/", { q })} aria-current={category ? undefined : "page"}>
                All
              </a>
            </li>
            {categories.map((name) => (
              <li key={name}>
                <a
                  class="chip"
                  href={href("/", { q, category: name })}
                  aria-current={name === category ? "page" : undefined}
                  data-testid="category-link"
                >
                  {name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <SearchForm key={JSON.stringify(filters)} filters={filters} categories={allCategories} />
      <Results results={results} filters={filters} page={page} />
    </section>
  );
}

type Filters = { q: string; category: string; sort: string; min: string; max: string };

function SearchForm(props: { filters: Filters; categories: string[] }) {
  const [form, setForm] = useState(props.filters);
  const set = (name: keyof Filters) => (event: Event) =>
    setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value });

  return (
    <search>
      <form
        class="search"
        data-testid="search-form"
        onSubmit={(event) => {
          event.preventDefault();
          navigate("/", { ...form, page: undefined });
        }}
      >
        <div class="field field-grow">
          <label for="search-q">Search</label>
          <input
            id="search-q"
            type="search"
            name="q"
            value={form.q}
            onInput={set("q")}
            placeholder="Name or description"
            data-testid="search-input"
          />
        </div>
        <div class="field">
          <label for="search-category">Category</label>
          <select id="search-category" name="category" value={form.category} onChange={set("category")}>
            <option value="">All categories</option>
            {props.categories.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="search-sort">Sort by</label>
          <select id="search-sort" name="sort" value={form.sort} onChange={set("sort")}>
            {SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-small">
          <label for="search-min">Min price</label>
          <input
            id="search-min"
            type="number"
            inputMode="decimal"
            min="0"
            step="any"
            name="min"
            value={form.min}
            onInput={set("min")}
          />
        </div>
        <div class="field field-small">
          <label for="search-max">Max price</label>
          <input
            id="search-max"
            type="number"
            inputMode="decimal"
            min="0"
            step="any"
            name="max"
            value={form.max}
            onInput={set("max")}
          />
        </div>
        <button type="submit" class="button button-primary" data-testid="search-submit">
          Search
        </button>
      </form>
    </search>
  );
}

function Results(props: { results: Async<Page<Product>>; filters: Filters; page: number }) {
  const { results, filters, page } = props;
  if (results.error) {
    return (
      <ErrorMessage error={results.error} onRetry={results.reload} title="Products could not be loaded." />
    );
  }
  if (!results.data) return <Loading label="Loading products…" />;
  const { items, total, limit } = results.data;
  const pages = Math.max(1, Math.ceil(total / (limit || PAGE_SIZE)));
  const filtered = Object.values(filters).some(Boolean);

  return (
    <div
      aria-busy={results.loading}
      class={results.loading ? "results is-loading" : "results"}
      data-testid="results"
      data-answers={
        results.loading ? undefined : href("/", { ...filters, page: page > 1 ? page : undefined })
      }
    >
      <p class="result-count" role="status" data-testid="result-count">
        {total === 1 ? "1 product" : `${total} products`}
        {pages > 1 && ` · page ${page} of ${pages}`}
      </p>
      {items.length === 0 ? (
        <Empty>
          <p>{filtered ? "No products match your search." : "There are no products yet."}</p>
          {filtered && <a href={href("/")}>Clear the filters</a>}
        </Empty>
      ) : (
        <ul class="product-grid" data-testid="product-list">
          {items.map((product) => (
            <li key={product.id}>
              <ProductCard product={product} />
            </li>
          ))}
        </ul>
      )}
      {pages > 1 && <Pagination page={page} pages={pages} filters={filters} />}
    </div>
  );
}

function ProductCard(props: { product: Product }) {
  const { product } = props;
  const link = href(`/products/${encodeURIComponent(product.id)}`);
  return (
    <article class="card product-card" data-testid="product-card" data-product-id={product.id}>
      <ProductImage url={product.imageUrl} name={product.name} size="card" />
      <h2 class="card-title">
        <a href={link} data-testid="product-link">
          {product.name}
        </a>
      </h2>
      <p class="price" data-testid="product-price">
        <Money cents={product.priceCents} currency={product.currency} />
      </p>
      <StockNote stock={product.stock} />
      <AddToCartButton product={product} />
    </article>
  );
}

function Pagination(props: { page: number; pages: number; filters: Filters }) {
  const { page, pages, filters } = props;
  const to = (target: number) => href("/", { ...filters, page: target > 1 ? target : undefined });
  return (
    <nav class="pagination" aria-label="Pages" data-testid="pagination">
      {page > 1 ? (
        <a class="button" href={to(page - 1)} rel="prev" data-testid="page-prev">
          ← Previous
        </a>
      ) : (
        <span class="button" aria-disabled="true">
          ← Previous
        </span>
      )}
      <span>
        Page {page} of {pages}
      </span>
      {page < pages ? (
        <a class="button" href={to(page + 1)} rel="next" data-testid="page-next">
          Next →
        </a>
      ) : (
        <span class="button" aria-disabled="true">
          Next →
        </span>
      )}
    </nav>
  );
}
