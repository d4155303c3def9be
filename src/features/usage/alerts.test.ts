import { Webhook } from "standardwebhooks";
import { describe, expect, inject, it } from "vitest";
import { BUDGET_ALERT_WEBHOOK_SECRET } from "../../../test/secrets";
import type { Delivery } from "../../../test/stand-ins/webhook-receiver";
import { chatWith, createKey, eventually } from "../../../test/support/keys";
import { openaiScenario } from "../../../test/support/relay";
import { promptEstimate } from "../../metering/prices";

const receiver = inject("webhookReceiver");

async function deliveriesAbout(subject: string): Promise<Delivery[]> {
  const response = await fetch(`${receiver}/__received?subject=${encodeURIComponent(subject)}`);
  return (await response.json()) as Delivery[];
}

/** A request whose upstream reports exactly its reservation, so each one spends a known share of a budget. */
function fifthOfBudget() {
  const request = { messages: [{ role: "user", content: "Hello" }], max_tokens: 40 };
  const prompt = promptEstimate(request);
  return { request, upstream: openaiScenario(`usage-${prompt}-40`), spend: prompt + 40 };
}

describe("budget alerts", () => {
  it("POSTs each threshold once, signed per Standard Webhooks, as the spend reaches 50, 80 and 100 %", async () => {
    const { request, upstream, spend } = fifthOfBudget();
    const { id, secret } = await createKey({ monthly_token_budget: 5 * spend });
    const subject = `key:${id}`;
    const vars = { OPENAI_BASE_URL: upstream.baseUrl };
    // 20, 40, 60 (crosses 50), 80, 100 %: one request at a time, so each report reaches the Meter in turn.
    for (let i = 0; i < 5; i++) {
      expect((await chatWith(secret, request, vars)).status).toBe(200);
      if (i === 2) await eventually(async () => expect(await deliveriesAbout(subject)).toHaveLength(1));
    }
    expect((await chatWith(secret, request, vars)).status).toBe(429);
    await eventually(async () => expect(await deliveriesAbout(subject)).toHaveLength(3), 30_000);

    const deliveries = await deliveriesAbout(subject);
    const webhook = new Webhook(BUDGET_ALERT_WEBHOOK_SECRET);
    const events = deliveries.map((d) => webhook.verify(d.body, d.headers as Record<string, string>));
    expect(events.map((e) => (e as { data: { threshold_percent: number } }).data.threshold_percent)).toEqual([
      50, 80, 100,
    ]);
    expect(events[0]).toEqual({
      type: "budget.threshold_reached",
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      data: {
        subject,
        threshold_percent: 50,
        period: expect.stringMatching(/^\d{4}-\d{2}$/),
        budget: { tokens: 5 * spend },
        spent: { tokens: 3 * spend, cost_usd: expect.any(Number) },
      },
    });
    expect(new Set(deliveries.map((d) => d.headers["webhook-id"])).size).toBe(3);
  }, 60_000);

  it("keeps an alert the receiver refuses and delivers it again, with the same webhook-id", async () => {
    const { request, upstream, spend } = fifthOfBudget();
    const { id, secret } = await createKey({ monthly_token_budget: 2 * spend });
    const subject = `key:${id}`;
    await fetch(`${receiver}/__fail`, { method: "POST", body: JSON.stringify({ subject, times: 2 }) });
    expect((await chatWith(secret, request, { OPENAI_BASE_URL: upstream.baseUrl })).status).toBe(200);
    await eventually(async () => expect(await deliveriesAbout(subject)).toHaveLength(3), 30_000);
    const deliveries = await deliveriesAbout(subject);
    expect(deliveries.map((d) => d.status)).toEqual([503, 503, 200]);
    expect(new Set(deliveries.map((d) => d.headers["webhook-id"])).size).toBe(1);
    const webhook = new Webhook(BUDGET_ALERT_WEBHOOK_SECRET);
    for (const d of deliveries) webhook.verify(d.body, d.headers as Record<string, string>);
  }, 60_000);
});
