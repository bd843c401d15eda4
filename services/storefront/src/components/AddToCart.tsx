import { useState } from "preact/hooks";
import { addToCart } from "../cart";
import { currentRoute, navigate } from "../router";
import { sessionStore } from "../session";
import { useStore } from "../store";
import { announce } from "../toasts";
import type { Product } from "../types";
import { errorText } from "./ui";

/** "Add to cart" for a product; asks a signed-out person to sign in first (carts belong to a person). */
export function AddToCartButton(props: { product: Product; quantity?: number; showName?: boolean }) {
  const session = useStore(sessionStore);
  const [busy, setBusy] = useState(false);
  const { product } = props;
  const soldOut = product.stock <= 0;

  async function add() {
    if (!session) {
      announce("Sign in to add items to your cart.");
      navigate("/signin", { returnTo: currentRoute() });
      return;
    }
    setBusy(true);
    try {
      const quantity = props.quantity ?? 1;
      await addToCart(product.id, quantity);
      announce(`Added ${quantity > 1 ? `${quantity} × ` : ""}${product.name} to your cart.`, "success");
    } catch (error) {
      announce(errorText(error), "error");
    } finally {
      setBusy(false);
    }
  }

  return (
    <button
      type="button"
      class="button button-primary"
      data-testid="add-to-cart"
      data-product-id={product.id}
      disabled={soldOut || busy}
      aria-busy={busy}
      onClick={add}
    >
      {soldOut ? "Out of stock" : busy ? "Adding…" : "Add to cart"}
      {props.showName !== false && <span class="visually-hidden">: {product.name}</span>}
    </button>
  );
}

export function StockNote(props: { stock: number }) {
  if (props.stock <= 0) return <p class="stock stock-out">Out of stock</p>;
  if (props.stock <= 5) return <p class="stock stock-low">Only {props.stock} left</p>;
  return <p class="stock">In stock</p>;
}
