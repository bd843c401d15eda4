import type { Metrics } from "@shopstream/runtime";
import { type Increment, METRICS, type MetricName, seriesOf } from "../domain/increments.js";
import type { Counters } from "../domain/ports.js";

type Counter = ReturnType<Metrics["counter"]>;

/** The business counters on `/metrics`: `shopstream_orders_total{status}` and the others. */
export class BusinessCounters implements Counters {
  private readonly counters: Record<MetricName, Counter>;

  constructor(metrics: Metrics) {
    this.counters = Object.fromEntries(
      Object.entries(METRICS).map(([name, { help, labels }]) => [
        name,
        metrics.counter(`shopstream_${name}`, help, labels),
      ]),
    ) as Record<MetricName, Counter>;
  }

  add(increments: Increment[]): void {
    for (const { metric, labels, by } of increments) {
      const counter = this.counters[metric];
      if (Object.keys(labels).length > 0) counter.inc(labels, by);
      else counter.inc(by);
    }
  }

  /** Sets every counter to the stored totals (at start, and when the replica takes another share). */
  load(totals: Map<string, number>): void {
    for (const counter of Object.values(this.counters)) counter.reset();
    for (const [field, value] of totals) {
      const series = seriesOf(field);
      if (series && Number.isFinite(value) && value > 0) this.add([{ ...series, by: value }]);
    }
  }
}
