import { writeAudit } from "../../audit/store";
import type { Change } from "../ledger/change";
import type { Ledger } from "../ledger/kv-import";
import { recordChange } from "../ledger/record";

/** What a verified webhook did; every outcome answers 200. */
export type WebhookOutcome = { status: "applied" | "duplicate" } | { status: "ignored"; reason: string };

/** What a webhook asks of the ledger: one change for one user, or nothing (with the reason, for the audit). */
export type WebhookPlan = { userId: string; change: Change; extra?: D1PreparedStatement[] } | { ignore: string };

/** Where a verified webhook came from: its sender, its id (applied once), its type (for the audit). */
export type Delivery = { source: "stripe" | "payment"; eventId: string; eventType: string; requestId?: string };

/**
 * Applies a webhook's plan once per event id; duplicates and ignored events leave an audit row each, so an
 * operator can see every signed delivery, but change nothing.
 */
export async function applyPlan(
  ledger: Ledger,
  delivery: Delivery,
  plan: WebhookPlan,
  now: Date,
): Promise<WebhookOutcome> {
  const audit = (target: string, outcome: string) =>
    writeAudit(ledger.db, {
      at: now,
      actor: delivery.source,
      action: "webhook",
      target,
      outcome,
      requestId: delivery.requestId,
    });
  if ("ignore" in plan) {
    await audit(`${delivery.source}:${delivery.eventType}`, `ignored:${plan.ignore}`);
    return { status: "ignored", reason: plan.ignore };
  }
  const record = {
    userId: plan.userId,
    source: delivery.source,
    sourceEventId: delivery.eventId,
    actor: delivery.source,
    requestId: delivery.requestId,
    change: plan.change,
  };
  const outcome = await recordChange(ledger, record, now, plan.extra);
  if (outcome.status === "duplicate") await audit(`user:${plan.userId}`, "duplicate");
  return { status: outcome.status };
}
