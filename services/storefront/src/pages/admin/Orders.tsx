/** The admin's list of orders by status, with the next status change of each. */
import { useState } from "preact/hooks";
import { api, isApiError } from "../../api";
import { Empty, ErrorMessage, errorText, Loading, Money, PageTitle, StatusBadge } from "../../components/ui";
import { formatDate, shortId } from "../../format";
import { useAsync } from "../../hooks";
import { resyncStore } from "../../live";
import { newestFirst, STATUS_LABEL } from "../../orders";
import { href, navigate } from "../../router";
import { useStore } from "../../store";
import { announce } from "../../toasts";
import type { Order, OrderStatus } from "../../types";
import { AdminOnly, AdminTabs } from "./shared";

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
