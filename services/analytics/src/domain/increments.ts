/** The business counters, without their `shopstream_` prefix (docs/service-contracts.md). */
export const METRICS = {
  orders_total: { help: "Orders by the status they reached", labels: ["status"] },
  revenue_cents_total: { help: "Revenue of paid orders, in cents", labels: [] },
  payment_failures_total: { help: "Failed payments by reason", labels: ["reason"] },
  cart_additions_total: { help: "Products added to carts", labels: [] },
  events_total: { help: "Events by type and source (bus or client)", labels: ["type", "source"] },
} as const;

export type MetricName = keyof typeof METRICS;

/** One step of one counter. Label values always come from closed sets or checked patterns. */
export interface Increment {
  metric: MetricName;
  labels: Record<string, string>;
  by: number;
}

/** The Redis hash field of a counter series: `["orders_total",{"status":"paid"}]`. */
export function fieldOf(metric: MetricName, labels: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify([metric, sorted]);
}

/** The series a stored field names; undefined for one this version does not know. */
export function seriesOf(field: string): { metric: MetricName; labels: Record<string, string> } | undefined {
  try {
    const [metric, labels] = JSON.parse(field) as [string, Record<string, string>];
    if (!(metric in METRICS) || typeof labels !== "object" || labels === null) return undefined;
    const expected = [...METRICS[metric as MetricName].labels].sort();
    if (JSON.stringify(Object.keys(labels).sort()) !== JSON.stringify(expected)) return undefined;
    return { metric: metric as MetricName, labels };
  } catch {
    return undefined;
  }
}
