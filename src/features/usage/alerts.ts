import * as z from "zod";
import { retryDelaySeconds } from "../../lib/backoff";
import { integer, optional, readConfig } from "../../lib/config";
import { sha256Hex } from "../../lib/constant-time";
import type { BudgetAlert } from "../../metering/durable-object";
import { postAlert } from "../../upstream/alert-webhook";

const alertConfig = z.object({
  BUDGET_ALERT_WEBHOOK_URL: optional(),
  BUDGET_ALERT_WEBHOOK_SECRET: optional(),
  BUDGET_ALERT_RETRY_SECONDS: integer(30, 0, 3600),
});

/** The event a receiver gets (Standard Webhooks' `{type, timestamp, data}`); costs in USD. */
export function alertEvent(alert: BudgetAlert): string {
  return JSON.stringify({
    type: "budget.threshold_reached",
    timestamp: alert.at,
    data: {
      subject: alert.subject,
      threshold_percent: alert.threshold,
      period: alert.period,
      budget: {
        ...(alert.budget.tokens === undefined ? {} : { tokens: alert.budget.tokens }),
        ...(alert.budget.micros === undefined ? {} : { cost_usd: alert.budget.micros / 1e6 }),
      },
      spent: { tokens: alert.committed.tokens, cost_usd: alert.committed.micros / 1e6 },
    },
  });
}

/**
 * The consumer of BUDGET_ALERTS: delivers each alert to BUDGET_ALERT_WEBHOOK_URL, signed with
 * BUDGET_ALERT_WEBHOOK_SECRET. An alert the receiver does not take is retried with growing delays; after
 * the queue's last retry it moves to the dead-letter queue. The id is the same on every attempt, so a
 * receiver can drop a duplicate.
 */
export async function deliverAlerts(batch: MessageBatch<BudgetAlert>, env: Env): Promise<void> {
  const config = readConfig(env, alertConfig);
  for (const message of batch.messages) {
    const alert = message.body;
    if (!config.BUDGET_ALERT_WEBHOOK_URL || !config.BUDGET_ALERT_WEBHOOK_SECRET) {
      message.retry({ delaySeconds: retryDelaySeconds(config.BUDGET_ALERT_RETRY_SECONDS, message.attempts) });
      continue;
    }
    const id = `alert_${(await sha256Hex(`${alert.subject}|${alert.period}|${alert.threshold}`)).slice(0, 32)}`;
    const delivered = await postAlert(
      { url: config.BUDGET_ALERT_WEBHOOK_URL, secret: config.BUDGET_ALERT_WEBHOOK_SECRET, timeoutMs: 10_000 },
      id,
      alertEvent(alert),
      new Date(),
    );
    if (delivered) message.ack();
    else message.retry({ delaySeconds: retryDelaySeconds(config.BUDGET_ALERT_RETRY_SECONDS, message.attempts) });
  }
}
