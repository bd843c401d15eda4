/**
 * The alert rules, evaluated by Prometheus's own rule engine (`promtool test rules`) over series
 * shaped as RabbitMQ's per-object endpoint exports them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { alertRulesYaml } from "../../infra/src/config-files/index.js";
import { toYaml } from "../../infra/src/config-files/yaml.js";
import { need, run } from "./programs.js";

const dir = mkdtempSync(join(tmpdir(), "alert-rules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("DeadLetterQueueNotEmpty", () => {
  it("fires per dead-letter queue, naming the queue, the count and the runbook", () => {
    need("promtool", "prometheus");
    writeFileSync(join(dir, "alerts.yml"), alertRulesYaml());
    const summary = (n: number, queue: string) => `${n} dead-lettered events wait in ${queue}`;
    const test = {
      rule_files: ["alerts.yml"],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            {
              series: 'rabbitmq_queue_messages{queue="order.payment-events.dead",vhost="/"}',
              values: "0 3x5",
            },
            { series: 'rabbitmq_queue_messages{queue="order.payment-events",vhost="/"}', values: "7x6" },
            {
              series: 'rabbitmq_queue_messages{queue="payment.order-created.dead",vhost="/"}',
              values: "0x6",
            },
          ],
          alert_rule_test: [
            { eval_time: "1m", alertname: "DeadLetterQueueNotEmpty", exp_alerts: [] },
            {
              eval_time: "3m",
              alertname: "DeadLetterQueueNotEmpty",
              exp_alerts: [
                {
                  exp_labels: { severity: "warning", queue: "order.payment-events.dead" },
                  exp_annotations: {
                    summary: summary(3, "order.payment-events.dead"),
                    description:
                      "3 events in order.payment-events.dead failed for the last time (a bug, bad data, or a store away longer than EVENT_RETRY_UNAVAILABLE_MS). Find the cause in the consumer's logs, fix it, then re-drive the queue (runbook).",
                    runbook_url: "docs/dead-letters.md",
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, "test.yml"), toYaml(test));
    const result = run("promtool", ["test", "rules", join(dir, "test.yml")]);
    expect(result.code, result.out).toBe(0);
  });
});
