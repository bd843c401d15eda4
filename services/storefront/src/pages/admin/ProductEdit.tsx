/** The admin's form for a new or an existing product, with its image upload. */
import { useState } from "preact/hooks";
import { api } from "../../api";
import {
  ErrorMessage,
  errorText,
  FormError,
  fieldErrors,
  Loading,
  PageTitle,
  ProductImage,
  SelectField,
  TextArea,
  TextField,
} from "../../components/ui";
import { centsToInput, parseMoney } from "../../format";
import { useAsync } from "../../hooks";
import { href, navigate } from "../../router";
import { announce } from "../../toasts";
import type { Product, ProductInput } from "../../types";
import { AdminOnly, confirmDelete } from "./shared";

const CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "JPY"];
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"];

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
