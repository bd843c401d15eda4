import { useState } from "preact/hooks";
import { api, isApiError } from "../api";
import { AddToCartButton, StockNote } from "../components/AddToCart";
import { ErrorMessage, Loading, Money, PageTitle, ProductImage } from "../components/ui";
import { useAsync, useTitle } from "../hooks";
import { href } from "../router";

export function ProductPage(props: { id: string }) {
  const product = useAsync((signal) => api.product(props.id, signal), [props.id]);
  const [quantity, setQuantity] = useState(1);
  useTitle(product.data?.name ?? "Product");

  if (product.error) {
    const missing = isApiError(product.error) && product.error.status === 404;
    return (
      <section>
        <PageTitle>{missing ? "Product not found" : "Product"}</PageTitle>
        {missing ? (
          <p>
            This product does not exist or is no longer sold. <a href={href("/")}>Back to the shop</a>
          </p>
        ) : (
          <ErrorMessage error={product.error} onRetry={product.reload} />
        )}
      </section>
    );
  }
  if (!product.data) {
    return (
      <section>
        <PageTitle>Product</PageTitle>
        <Loading label="Loading product…" />
      </section>
    );
  }

  const item = product.data;
  const maxQuantity = Math.max(1, Math.min(item.stock, 10));
  return (
    <article class="product-page" data-testid="product-detail" data-product-id={item.id}>
      <p class="breadcrumbs">
        <a href={href("/")}>Shop</a> ›{" "}
        <a href={href("/", { category: item.category })} data-testid="product-category">
          {item.category}
        </a>
      </p>
      <div class="product-layout">
        <ProductImage url={item.imageUrl} name={item.name} size="large" />
        <div class="product-info">
          <PageTitle>{item.name}</PageTitle>
          <p class="price price-large" data-testid="product-price">
            <Money cents={item.priceCents} currency={item.currency} />
          </p>
          <StockNote stock={item.stock} />
          {item.sku && <p class="muted">SKU {item.sku}</p>}
          {item.stock > 0 && (
            <div class="field field-small">
              <label for="quantity">Quantity</label>
              <select
                id="quantity"
                value={quantity}
                onChange={(event) => setQuantity(Number(event.currentTarget.value))}
                data-testid="quantity-select"
              >
                {Array.from({ length: maxQuantity }, (_, i) => i + 1).map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </div>
          )}
          <AddToCartButton product={item} quantity={quantity} showName={false} />
          <h2>Description</h2>
          <p class="description">{item.description || "No description yet."}</p>
        </div>
      </div>
    </article>
  );
}
