/** The admin's list of products: search, pages, edit and delete. */
import { useState } from "preact/hooks";
import { api } from "../../api";
import { Empty, ErrorMessage, Loading, Money, PageTitle } from "../../components/ui";
import { useAsync } from "../../hooks";
import { href, navigate } from "../../router";
import { AdminOnly, AdminTabs, confirmDelete } from "./shared";

const ADMIN_PAGE_SIZE = 20;

export function AdminProductsPage(props: { query: URLSearchParams }) {
  return (
    <AdminOnly title="Admin: products">
      <AdminProducts query={props.query} />
    </AdminOnly>
  );
}

function AdminProducts(props: { query: URLSearchParams }) {
  const q = props.query.get("q") ?? "";
  const page = Math.max(1, Number(props.query.get("page")) || 1);
  const [search, setSearch] = useState(q);
  const products = useAsync((signal) => api.products({ q, page, limit: ADMIN_PAGE_SIZE }, signal), [q, page]);
  const pages = products.data ? Math.max(1, Math.ceil(products.data.total / (products.data.limit || 1))) : 1;

  return (
    <section>
      <PageTitle>Admin: products</PageTitle>
      <AdminTabs current="products" />
      <div class="toolbar">
        <search>
          <form
            class="inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              navigate("/admin", { q: search });
            }}
          >
            <label for="admin-search">Find products</label>
            <input
              id="admin-search"
              type="search"
              value={search}
              onInput={(event) => setSearch(event.currentTarget.value)}
            />
            <button type="submit" class="button">
              Search
            </button>
          </form>
        </search>
        <a class="button button-primary" href={href("/admin/products/new")} data-testid="admin-new-product">
          New product
        </a>
      </div>
      {products.error ? <ErrorMessage error={products.error} onRetry={products.reload} /> : null}
      {!products.data && !products.error && <Loading label="Loading products…" />}
      {products.data && products.data.items.length === 0 && (
        <Empty>
          <p>{q ? "No products match." : "No products yet. Create the first one."}</p>
        </Empty>
      )}
      {products.data && products.data.items.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-testid="admin-product-table" aria-busy={products.loading}>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Category</th>
                <th scope="col" class="num">
                  Price
                </th>
                <th scope="col" class="num">
                  Stock
                </th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {products.data.items.map((product) => (
                <tr key={product.id} data-testid="admin-product-row" data-product-id={product.id}>
                  <th scope="row">
                    <a href={href(`/products/${encodeURIComponent(product.id)}`)}>{product.name}</a>
                  </th>
                  <td>{product.category}</td>
                  <td class="num">
                    <Money cents={product.priceCents} currency={product.currency} />
                  </td>
                  <td class="num">{product.stock}</td>
                  <td class="actions">
                    <a
                      class="button"
                      href={href(`/admin/products/${encodeURIComponent(product.id)}`)}
                      data-testid="admin-edit-product"
                    >
                      Edit<span class="visually-hidden"> {product.name}</span>
                    </a>
                    <button
                      type="button"
                      class="button button-danger"
                      data-testid="admin-delete-product"
                      onClick={async () => {
                        if (await confirmDelete(product)) products.reload();
                      }}
                    >
                      Delete<span class="visually-hidden"> {product.name}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <nav class="pagination" aria-label="Pages">
          {page > 1 && (
            <a class="button" href={href("/admin", { q, page: page - 1 })}>
              ← Previous
            </a>
          )}
          <span>
            Page {page} of {pages}
          </span>
          {page < pages && (
            <a class="button" href={href("/admin", { q, page: page + 1 })}>
              Next →
            </a>
          )}
        </nav>
      )}
    </section>
  );
}
