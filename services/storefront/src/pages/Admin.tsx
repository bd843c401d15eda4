import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, isApiError } from "../api";
import {
  Empty,
  ErrorMessage,
  errorText,
  FormError,
  fieldErrors,
  Loading,
  Money,
  PageTitle,
  ProductImage,
  SelectField,
  StatusBadge,
  TextArea,
  TextField,
} from "../components/ui";
import { centsToInput, formatDate, parseMoney, shortId } from "../format";
import { useAsync, useTitle } from "../hooks";
import { resyncStore } from "../live";
import { newestFirst, STATUS_LABEL } from "../orders";
import { currentRoute, href, navigate } from "../router";
import { sessionStore } from "../session";
import { useStore } from "../store";
import { announce } from "../toasts";
import type { Order, OrderStatus, Product, ProductInput } from "../types";

const CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "JPY"];
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"];
const ADMIN_PAGE_SIZE = 20;

/** Shows its children to admins only; everyone else gets a way forward instead of a blank page. */
function AdminOnly(props: { title: string; children: ComponentChildren }) {
  const session = useStore(sessionStore);
  useTitle(props.title);
  if (session?.user.role === "admin") return <>{props.children}</>;
  return (
    <section>
      <PageTitle>{props.title}</PageTitle>
      <Empty>
        {session ? (
          <p>This page is for shop administrators. You are signed in as {session.user.email}.</p>
        ) : (
          <>
            <p>Sign in with an administrator account to manage the shop.</p>
            <a class="button button-primary" href={href("/signin", { returnTo: currentRoute() })}>
              Sign in
            </a>
          </>
        )}
      </Empty>
    </section>
  );
}

function AdminTabs(props: { current: "products" | "orders" }) {
  return (
    <nav aria-label="Admin sections" class="tabs">
      <a href={href("/admin")} aria-current={props.current === "products" ? "page" : undefined}>
        Products
      </a>
      <a href={href("/admin/orders")} aria-current={props.current === "orders" ? "page" : undefined}>
        Orders
      </a>
    </nav>
  );
}

async function confirmDelete(product: Pick<Product, "id" | "name">): Promise<boolean> {
  if (!window.confirm(`Delete “${product.name}”? It disappears from the shop.`)) return false;
  try {
    await api.deleteProduct(product.id);
    announce(`Deleted ${product.name}.`);
    return true;
  } catch (error) {
    announce(errorText(error), "error");
    return false;
  }
}

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

export function AdminProductPage(props: { id?: string }) {
  return (
    <AdminOnly title={props.id ? "Edit product" : "New product"}>
      <AdminProduct key={props.id ?? "new"} id={props.id} />
    </AdminOnly>
  );
}

function AdminProduct(props: { id?: string }) {
  const { id } = props;
  const product = useAsync((signal) => (id ? api.product(id, signal) : Promise.resolve(null)), [id]);
  if (product.error) {
    return (
      <section>
        <PageTitle>Edit product</PageTitle>
        <ErrorMessage error={product.error} onRetry={product.reload} />
      </section>
    );
  }
  if (product.data === undefined) {
    return (
      <section>
        <PageTitle>Edit product</PageTitle>
        <Loading label="Loading the product…" />
      </section>
    );
  }
  const existing = product.data;
  return (
    <section>
      <p class="breadcrumbs">
        <a href={href("/admin")}>Admin: products</a> › {existing ? existing.name : "New product"}
      </p>
      <PageTitle>{existing ? `Edit “${existing.name}”` : "New product"}</PageTitle>
      <div class="admin-layout">
        <ProductForm product={existing} onSaved={(saved) => product.setData(saved)} />
        {existing && <ImageUpload product={existing} onUploaded={product.reload} />}
      </div>
      {existing && (
        <button
          type="button"
          class="button button-danger"
          data-testid="admin-delete-product"
          onClick={async () => {
            if (await confirmDelete(existing)) navigate("/admin");
          }}
        >
          Delete this product
        </button>
      )}
    </section>
  );
}

interface ProductFormState {
  name: string;
  description: string;
  category: string;
  price: string;
  currency: string;
  stock: string;
}

function ProductForm(props: { product: Product | null; onSaved: (product: Product) => void }) {
  const { product } = props;
  const [form, setForm] = useState<ProductFormState>({
    name: product?.name ?? "",
    description: product?.description ?? "",
    category: product?.category ?? "",
    price: product ? centsToInput(product.priceCents, product.currency) : "",
    currency: product?.currency ?? "EUR",
    stock: String(product?.stock ?? 0),
  });
  const [error, setError] = useState<unknown>(null);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const errors = { ...fieldErrors(error), ...localErrors };
  const currencies = CURRENCIES.includes(form.currency) ? CURRENCIES : [form.currency, ...CURRENCIES];

  const set = (name: keyof ProductFormState) => (event: Event) =>
    setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value });

  async function submit(event: Event) {
    event.preventDefault();
    const priceCents = parseMoney(form.price, form.currency);
    const stock = Number(form.stock);
    const problems: Record<string, string> = {};
    if (priceCents === null) problems.priceCents = "Enter a price such as 12.50.";
    if (!Number.isInteger(stock) || stock < 0) problems.stock = "Enter a whole number, 0 or more.";
    setLocalErrors(problems);
    setError(null);
    if (priceCents === null || problems.stock) return;

    const body: ProductInput = {
      name: form.name.trim(),
      description: form.description.trim(),
      category: form.category.trim(),
      priceCents,
      currency: form.currency,
      stock,
    };
    setSaving(true);
    try {
      if (product) {
        const saved = await api.updateProduct(product.id, body);
        announce(`Saved ${body.name}.`, "success");
        props.onSaved({ ...product, ...body, ...(saved ?? {}) });
      } else {
        const created = await api.createProduct(body);
        announce(`Created ${body.name}. You can add an image now.`, "success");
        navigate(`/admin/products/${encodeURIComponent(created.id)}`);
      }
    } catch (failure) {
      setError(failure);
    } finally {
      setSaving(false);
    }
  }

  return (
    <form class="card form" onSubmit={submit} data-testid="admin-product-form" aria-label="Product details">
      <FormError
        error={error}
        shownFields={["name", "description", "category", "priceCents", "currency", "stock"]}
      />
      <TextField
        label="Name"
        name="name"
        required
        value={form.name}
        onInput={set("name")}
        error={errors.name}
        data-testid="admin-product-name"
      />
      <TextArea
        label="Description"
        name="description"
        value={form.description}
        onInput={set("description")}
        error={errors.description}
        data-testid="admin-product-description"
      />
      <TextField
        label="Category"
        name="category"
        required
        value={form.category}
        onInput={set("category")}
        error={errors.category}
        data-testid="admin-product-category"
      />
      <div class="field-row">
        <TextField
          label="Price"
          name="priceCents"
          inputMode="decimal"
          required
          value={form.price}
          onInput={set("price")}
          error={errors.priceCents}
          hint="In the currency's units, e.g. 12.50"
          data-testid="admin-product-price"
        />
        <SelectField
          label="Currency"
          name="currency"
          value={form.currency}
          onChange={set("currency")}
          error={errors.currency}
          data-testid="admin-product-currency"
        >
          {currencies.map((code) => (
            <option key={code} value={code}>
              {code}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Stock"
          name="stock"
          type="number"
          min="0"
          step="1"
          inputMode="numeric"
          required
          value={form.stock}
          onInput={set("stock")}
          error={errors.stock}
          data-testid="admin-product-stock"
        />
      </div>
      <button type="submit" class="button button-primary" disabled={saving} data-testid="admin-product-save">
        {saving ? "Saving…" : product ? "Save changes" : "Create product"}
      </button>
    </form>
  );
}

function ImageUpload(props: { product: Product; onUploaded: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<string>("");
  const [uploading, setUploading] = useState(false);

  async function upload(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    if (!file) {
      setError("Choose an image file first.");
      return;
    }
    if (!IMAGE_TYPES.includes(file.type)) {
      setError("Use a PNG, JPEG or WebP image.");
      return;
    }
    setUploading(true);
    setError("");
    try {
      await api.uploadProductImage(props.product.id, file);
      announce("Image uploaded.", "success");
      setFile(null);
      form.reset();
      props.onUploaded();
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setUploading(false);
    }
  }

  return (
    <form class="card form" onSubmit={upload} data-testid="admin-image-form" aria-label="Product image">
      <h2>Image</h2>
      <ProductImage url={props.product.imageUrl} name={props.product.name} size="card" />
      <div class="field">
        <label for="product-image">Image file</label>
        <input
          id="product-image"
          type="file"
          accept={IMAGE_TYPES.join(",")}
          aria-describedby="product-image-hint product-image-error"
          aria-invalid={error ? "true" : undefined}
          data-testid="admin-product-image"
          onChange={(event) => {
            setError("");
            setFile(event.currentTarget.files?.[0] ?? null);
          }}
        />
        <p class="hint" id="product-image-hint">
          PNG, JPEG or WebP.
        </p>
        <p class="field-error" id="product-image-error" role={error ? "alert" : undefined}>
          {error}
        </p>
      </div>
      <button type="submit" class="button" disabled={uploading} data-testid="admin-product-image-upload">
        {uploading ? "Uploading…" : "Upload image"}
      </button>
    </form>
  );
}

const NEXT_STATUS: Partial<Record<OrderStatus, "shipped" | "delivered">> = {
  paid: "shipped",
  shipped: "delivered",
};

export function AdminOrdersPage(props: { query: URLSearchParams }) {
  return (
    <AdminOnly title="Admin: orders">
      <AdminOrders status={props.query.get("status") ?? ""} />
    </AdminOnly>
  );
}

function AdminOrders(props: { status: string }) {
  const resync = useStore(resyncStore);
  const orders = useAsync(async (signal) => newestFirst((await api.orders(signal)).items), [resync]);
  const [busy, setBusy] = useState<string | null>(null);
  const shown = orders.data?.filter((order) => !props.status || order.status === props.status) ?? [];

  async function advance(order: Order, status: "shipped" | "delivered") {
    setBusy(order.id);
    try {
      await api.setOrderStatus(order.id, status);
      orders.setData(
        (orders.data ?? []).map((o) =>
          o.id === order.id ? { ...o, status, updatedAt: new Date().toISOString() } : o,
        ),
      );
      announce(`Order ${shortId(order.id)} marked ${STATUS_LABEL[status].toLowerCase()}.`, "success");
    } catch (error) {
      announce(errorText(error), "error");
      if (isApiError(error) && error.status === 409) orders.reload();
    } finally {
      setBusy(null);
    }
  }

  return (
    <section>
      <PageTitle>Admin: orders</PageTitle>
      <AdminTabs current="orders" />
      <div class="toolbar">
        <div class="field">
          <label for="status-filter">Show</label>
          <select
            id="status-filter"
            value={props.status}
            onChange={(event) => navigate("/admin/orders", { status: event.currentTarget.value })}
          >
            <option value="">All orders</option>
            {Object.entries(STATUS_LABEL).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="button" onClick={orders.reload} disabled={orders.loading}>
          Refresh
        </button>
      </div>
      {orders.error ? <ErrorMessage error={orders.error} onRetry={orders.reload} /> : null}
      {!orders.data && !orders.error && <Loading label="Loading orders…" />}
      {orders.data && shown.length === 0 && (
        <Empty>
          <p>No orders{props.status ? " with this status" : " yet"}.</p>
        </Empty>
      )}
      {shown.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-testid="admin-order-table" aria-busy={orders.loading}>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Placed</th>
                <th scope="col" class="num">
                  Total
                </th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((order) => {
                const next = NEXT_STATUS[order.status];
                return (
                  <tr key={order.id} data-testid="admin-order-row" data-order-id={order.id}>
                    <th scope="row">
                      <a href={href(`/orders/${encodeURIComponent(order.id)}`)}>{shortId(order.id)}</a>
                      {order.userId && <span class="muted"> · customer {shortId(order.userId)}</span>}
                    </th>
                    <td>{formatDate(order.createdAt)}</td>
                    <td class="num">
                      <Money cents={order.totalCents} currency={order.currency} />
                    </td>
                    <td>
                      <StatusBadge status={order.status} />
                    </td>
                    <td class="actions">
                      {next && (
                        <button
                          type="button"
                          class="button"
                          disabled={busy === order.id}
                          data-testid={next === "shipped" ? "mark-shipped" : "mark-delivered"}
                          onClick={() => advance(order, next)}
                        >
                          Mark {next}
                          <span class="visually-hidden"> (order {shortId(order.id)})</span>
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
