import { useEffect, useState } from "preact/hooks";
import { api, isApiError } from "../api";
import { Empty, ErrorMessage, errorText, Loading, Money, PageTitle, StatusBadge } from "../components/ui";
import { formatDate, shortId } from "../format";
import { useAsync, useTitle } from "../hooks";
import { liveStore, resyncStore } from "../live";
import { withPushedStatus } from "../order-status";
import { loadOrders, ordersStore, pushedStatusStore } from "../orders";
import { currentRoute, href } from "../router";
import { sessionStore } from "../session";
import { useStore } from "../store";
import { announce } from "../toasts";
import type { Order } from "../types";

function SignInFirst(props: { title: string }) {
  return (
    <section>
      <PageTitle>{props.title}</PageTitle>
      <Empty>
        <p>Sign in to see your orders.</p>
        <a class="button button-primary" href={href("/signin", { returnTo: currentRoute() })}>
          Sign in
        </a>
      </Empty>
    </section>
  );
}

/** Says whether statuses on screen are live, so nobody waits for an update that cannot arrive. */
export function LiveIndicator() {
  const live = useStore(liveStore);
  if (live === "off") return null;
  const text =
    live === "live"
      ? "Live: status changes appear here as they happen."
      : live === "connecting"
        ? "Connecting to live updates…"
        : "Live updates interrupted; reconnecting…";
  return (
    <p class={`live live-${live}`} data-testid="live-indicator" data-state={live}>
      <span class="live-dot" aria-hidden="true" />
      {text}
    </p>
  );
}

function itemsSummary(order: Order): string {
  const [first] = order.items;
  if (!first) return "No items";
  if (order.items.length === 1) return `${first.quantity} × ${first.name}`;
  return `${first.name} and ${order.items.length - 1} other ${order.items.length === 2 ? "product" : "products"}`;
}

export function OrdersPage() {
  const session = useStore(sessionStore);
  const { items, error, loading } = useStore(ordersStore);
  useTitle("Your orders");
  useEffect(() => {
    if (session) void loadOrders();
  }, [session?.user.id]);

  if (!session) return <SignInFirst title="Your orders" />;
  return (
    <section>
      <PageTitle>Your orders</PageTitle>
      <LiveIndicator />
      {error ? <ErrorMessage error={error} onRetry={() => void loadOrders()} /> : null}
      {!items && !error && <Loading label="Loading your orders…" />}
      {items && items.length === 0 && (
        <Empty>
          <p>You have not ordered anything yet.</p>
          <a class="button" href={href("/")}>
            Browse the shop
          </a>
        </Empty>
      )}
      {items && items.length > 0 && (
        <ul class="orders" aria-busy={loading} data-testid="order-list">
          {items.map((order) => (
            <li key={order.id} class="card order-row" data-testid="order-row" data-order-id={order.id}>
              <div>
                <h2 class="card-title">
                  <a href={href(`/orders/${encodeURIComponent(order.id)}`)} data-testid="order-link">
                    Order {shortId(order.id)}
                  </a>
                </h2>
                <p class="muted">
                  {formatDate(order.createdAt)} · {itemsSummary(order)}
                </p>
              </div>
              <Money cents={order.totalCents} currency={order.currency} />
              <StatusBadge status={order.status} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const NEXT_STEP: Partial<Record<Order["status"], string>> = {
  pending: "We are waiting for the payment to go through.",
  paid: "Paid. We will let you know when it ships.",
  payment_failed:
    "The payment failed, so nothing was charged and the items went back on sale. You can place a new order.",
  cancelled: "This order was cancelled. If a payment went through meanwhile, it is refunded.",
  shipped: "On its way.",
  delivered: "Delivered. Enjoy!",
};

export function OrderPage(props: { id: string }) {
  const session = useStore(sessionStore);
  const resync = useStore(resyncStore);
  const order = useAsync((signal) => api.order(props.id, signal), [props.id, resync, session?.user.id]);
  const [cancelling, setCancelling] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  useTitle(`Order ${shortId(props.id)}`);

  // Status changes pushed over the WebSocket update the page in place, including one pushed before
  // the order loaded or while a fetch answered just before it was in flight.
  const pushed = useStore(pushedStatusStore);

  if (!session) return <SignInFirst title="Order" />;
  if (order.error) {
    const missing = isApiError(order.error) && (order.error.status === 404 || order.error.status === 403);
    return (
      <section>
        <PageTitle>Order {shortId(props.id)}</PageTitle>
        {missing ? (
          <p>
            We could not find this order among yours. <a href={href("/orders")}>See your orders</a>
          </p>
        ) : (
          <ErrorMessage error={order.error} onRetry={order.reload} />
        )}
      </section>
    );
  }
  if (!order.data) {
    return (
      <section>
        <PageTitle>Order {shortId(props.id)}</PageTitle>
        <Loading label="Loading the order…" />
      </section>
    );
  }

  const data = withPushedStatus(order.data, pushed);
  async function cancel() {
    if (!window.confirm("Cancel this order?")) return;
    setCancelling(true);
    setActionError(null);
    try {
      await api.cancelOrder(data.id);
      order.setData({ ...data, status: "cancelled" });
      announce(`Order ${shortId(data.id)} cancelled.`);
      order.reload();
    } catch (error) {
      setActionError(error);
    } finally {
      setCancelling(false);
    }
  }

  return (
    <section data-testid="order-detail" data-order-id={data.id}>
      <p class="breadcrumbs">
        <a href={href("/orders")}>Your orders</a> › Order {shortId(data.id)}
      </p>
      <PageTitle>Order {shortId(data.id)}</PageTitle>
      <LiveIndicator />
      <div class="card order-summary">
        <p class="order-status-line">
          Status: <StatusBadge status={data.status} />
        </p>
        <p aria-live="polite" data-testid="order-next-step">
          {data.refundedAt
            ? `This order was cancelled and your payment was refunded on ${formatDate(data.refundedAt)}.`
            : NEXT_STEP[data.status]}
        </p>
        <p class="muted">
          Placed {formatDate(data.createdAt)} · last update {formatDate(data.updatedAt)}
        </p>
        {actionError ? (
          <p class="notice notice-error" role="alert">
            {errorText(actionError)}
          </p>
        ) : null}
        {data.status === "pending" && (
          <button
            type="button"
            class="button"
            disabled={cancelling}
            onClick={cancel}
            data-testid="cancel-order"
          >
            {cancelling ? "Cancelling…" : "Cancel order"}
          </button>
        )}
      </div>
      <h2>Items</h2>
      <div class="table-wrap">
        <table class="table" data-testid="order-items">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" class="num">
                Price
              </th>
              <th scope="col" class="num">
                Quantity
              </th>
              <th scope="col" class="num">
                Subtotal
              </th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((item) => (
              <tr key={item.productId}>
                <th scope="row">
                  <a href={href(`/products/${encodeURIComponent(item.productId)}`)}>{item.name}</a>
                </th>
                <td class="num">
                  <Money cents={item.unitPriceCents} currency={data.currency} />
                </td>
                <td class="num">{item.quantity}</td>
                <td class="num">
                  <Money cents={item.unitPriceCents * item.quantity} currency={data.currency} />
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={3}>
                Total
              </th>
              <td class="num" data-testid="order-total">
                <Money cents={data.totalCents} currency={data.currency} />
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
    </section>
  );
}
