import { useEffect, useState } from "preact/hooks";
import { api, isApiError } from "../api";
import {
  cartStore,
  clearCart,
  itemCount,
  loadCart,
  markCartEmpty,
  removeFromCart,
  setQuantity,
} from "../cart";
import { attemptFingerprint, attemptKey, settleAttempt } from "../checkout-attempt";
import { Empty, ErrorMessage, errorText, Loading, Money, PageTitle, ProductImage } from "../components/ui";
import { useTitle } from "../hooks";
import { currentRoute, href, navigate } from "../router";
import { sessionStore } from "../session";
import { useStore } from "../store";
import { announce } from "../toasts";
import type { Cart, CartItem } from "../types";

/** The mock payment processor's test tokens (docs/architecture.md, "The public API in brief"), with what each one does. */
export const PAYMENT_TOKENS: { token: string; label: string; effect: string }[] = [
  { token: "tok_visa", label: "Test Visa card", effect: "The payment succeeds and the order is paid." },
  {
    token: "tok_chargeDeclined",
    label: "Test card: declined",
    effect: "The bank declines the charge: the order ends as “payment failed”.",
  },
  {
    token: "tok_insufficientFunds",
    label: "Test card: insufficient funds",
    effect: "The charge fails for lack of funds: the order ends as “payment failed”.",
  },
];

export function CartPage() {
  const session = useStore(sessionStore);
  const { cart, error, loading } = useStore(cartStore);
  useTitle("Your cart");

  useEffect(() => {
    if (session) void loadCart();
  }, [session?.user.id]);

  if (!session) {
    return (
      <section>
        <PageTitle>Your cart</PageTitle>
        <Empty>
          <p>Sign in to see your cart and check out.</p>
          <a class="button button-primary" href={href("/signin", { returnTo: currentRoute() })}>
            Sign in
          </a>
        </Empty>
      </section>
    );
  }

  return (
    <section>
      <PageTitle>Your cart</PageTitle>
      {error ? <ErrorMessage error={error} onRetry={() => void loadCart()} /> : null}
      {!cart && !error && <Loading label="Loading your cart…" />}
      {cart && cart.items.length === 0 && (
        <Empty>
          <p>Your cart is empty.</p>
          <a class="button" href={href("/")}>
            Browse the shop
          </a>
        </Empty>
      )}
      {cart && cart.items.length > 0 && (
        <div class="cart-layout" aria-busy={loading}>
          <CartLines cart={cart} />
          <Checkout cart={cart} />
        </div>
      )}
    </section>
  );
}

function CartLines(props: { cart: Cart }) {
  const { cart } = props;
  const [clearing, setClearing] = useState(false);
  return (
    <div class="cart-lines">
      <ul class="lines" data-testid="cart-items">
        {cart.items.map((item) => (
          <CartLine key={item.productId} item={item} />
        ))}
      </ul>
      <p class="cart-total">
        Total ({itemCount(cart)} {itemCount(cart) === 1 ? "item" : "items"}):{" "}
        <strong data-testid="cart-total">
          <Money cents={cart.totalCents} currency={cart.currency} />
        </strong>
      </p>
      <button
        type="button"
        class="button button-quiet"
        disabled={clearing}
        data-testid="clear-cart"
        onClick={async () => {
          if (!window.confirm("Remove everything from your cart?")) return;
          setClearing(true);
          try {
            await clearCart();
            announce("Your cart is now empty.");
          } catch (error) {
            announce(errorText(error), "error");
          } finally {
            setClearing(false);
          }
        }}
      >
        Empty the cart
      </button>
    </div>
  );
}

function CartLine(props: { item: CartItem }) {
  const { item } = props;
  const [busy, setBusy] = useState(false);
  const tooMany = item.quantity > item.stock;

  async function run(change: () => Promise<void>, done: string) {
    setBusy(true);
    try {
      await change();
      announce(done);
    } catch (error) {
      announce(errorText(error), "error");
    } finally {
      setBusy(false);
    }
  }

  return (
    <li class="line" data-testid="cart-item" data-product-id={item.productId}>
      <ProductImage url={item.imageUrl} name={item.name} size="thumb" />
      <div class="line-main">
        <a href={href(`/products/${encodeURIComponent(item.productId)}`)} class="line-name">
          {item.name}
        </a>
        <p class="muted">
          <Money cents={item.unitPriceCents} currency={item.currency} /> each
        </p>
        {tooMany && (
          <p class="stock stock-out">
            {item.stock > 0 ? `Only ${item.stock} in stock: lower the quantity.` : "Out of stock: remove it."}
          </p>
        )}
      </div>
      <fieldset class="quantity" disabled={busy}>
        <legend class="visually-hidden">Quantity of {item.name}</legend>
        <button
          type="button"
          class="button button-icon"
          aria-label={`One fewer ${item.name}`}
          disabled={item.quantity <= 1}
          data-testid="quantity-decrease"
          onClick={() =>
            run(
              () => setQuantity(item.productId, item.quantity - 1),
              `${item.name}: quantity ${item.quantity - 1}.`,
            )
          }
        >
          −
        </button>
        <output data-testid="cart-item-quantity" aria-label={`Quantity of ${item.name}`}>
          {item.quantity}
        </output>
        <button
          type="button"
          class="button button-icon"
          aria-label={`One more ${item.name}`}
          disabled={item.quantity >= item.stock}
          data-testid="quantity-increase"
          onClick={() =>
            run(
              () => setQuantity(item.productId, item.quantity + 1),
              `${item.name}: quantity ${item.quantity + 1}.`,
            )
          }
        >
          +
        </button>
      </fieldset>
      <p class="line-total">
        <Money cents={item.lineTotalCents} currency={item.currency} />
      </p>
      <button
        type="button"
        class="button button-quiet line-remove"
        disabled={busy}
        data-testid="remove-from-cart"
        onClick={() => run(() => removeFromCart(item.productId), `Removed ${item.name} from your cart.`)}
      >
        Remove<span class="visually-hidden"> {item.name}</span>
      </button>
    </li>
  );
}

/** 4xx answers other than these are final: the next try is a new attempt with a new Idempotency-Key. */
const RETRYABLE = new Set([0, 408, 425, 429]);

function Checkout(props: { cart: Cart }) {
  const { cart } = props;
  const [token, setToken] = useState("tok_visa");
  const [placing, setPlacing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const chosen = PAYMENT_TOKENS.find((option) => option.token === token);
  const blocked = cart.items.some((item) => item.quantity > item.stock);

  async function placeOrder(event: Event) {
    event.preventDefault();
    // Same cart and token as an attempt that got no final answer → same key: no double order.
    const key = attemptKey(sessionStorage, attemptFingerprint(cart, token));
    setPlacing(true);
    setError(null);
    try {
      const order = await api.placeOrder(token, key);
      settleAttempt(sessionStorage);
      markCartEmpty();
      announce("Order placed. Waiting for the payment…", "success");
      // The cart service empties the cart when it hears about the order; read it back shortly.
      setTimeout(() => void loadCart(), 2_000);
      navigate(`/orders/${encodeURIComponent(order.id)}`);
    } catch (failure) {
      const status = isApiError(failure) ? failure.status : 0;
      if (status < 500 && !RETRYABLE.has(status)) settleAttempt(sessionStorage);
      if (status === 409) void loadCart();
      setError(failure);
      setPlacing(false);
    }
  }

  const status = isApiError(error) ? error.status : 0;
  const unsure = error && (status === 0 || status >= 500 || RETRYABLE.has(status));

  return (
    <form
      class="card checkout"
      onSubmit={placeOrder}
      aria-labelledby="checkout-heading"
      data-testid="checkout-form"
    >
      <h2 id="checkout-heading">Checkout</h2>
      <div class="field">
        <label for="payment-token">Payment method</label>
        <select
          id="payment-token"
          name="paymentToken"
          value={token}
          aria-describedby="payment-token-hint"
          data-testid="payment-token"
          onChange={(event) => setToken(event.currentTarget.value)}
        >
          {PAYMENT_TOKENS.map((option) => (
            <option key={option.token} value={option.token}>
              {option.label} ({option.token})
            </option>
          ))}
        </select>
        <p class="hint" id="payment-token-hint">
          {chosen?.effect} These are test cards: no real money moves.
        </p>
      </div>
      {error ? (
        <div class="notice notice-error" role="alert" data-testid="checkout-error">
          <p>
            {status === 409 ? "Some items are no longer available: " : ""}
            {errorText(error)}
          </p>
          {unsure && <p>Trying again is safe: the order is placed at most once.</p>}
        </div>
      ) : null}
      {blocked && <p class="stock stock-out">Lower the quantities marked above before checking out.</p>}
      <p class="cart-total">
        To pay:{" "}
        <strong>
          <Money cents={cart.totalCents} currency={cart.currency} />
        </strong>
      </p>
      <button
        type="submit"
        class="button button-primary button-wide"
        disabled={placing || blocked}
        aria-busy={placing}
        data-testid="checkout-button"
      >
        {placing ? "Placing your order…" : unsure ? "Try again" : "Place order"}
      </button>
    </form>
  );
}
