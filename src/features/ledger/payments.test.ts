import { describe, expect, it } from "vitest";
import { adminHeaders, grant, postPayment } from "../../../test/support/ledger";
import { atClock, errorBody, relay, uniqueId } from "../../../test/support/relay";

function payments(query: string) {
  return relay(`/admin/payments${query}`, { headers: adminHeaders() });
}

describe("GET /admin/payments", () => {
  it("counts what the payment webhooks recorded per UTC day, source and kind; admin grants are no payment", async () => {
    // A day of its own (2008), so no other test's events mix in.
    const at = (iso: string, run: () => Promise<Response>) =>
      atClock(iso, async () => expect((await run()).status).toBe(200));
    const user = uniqueId("payer");
    await at("2008-09-10T08:00:00Z", () =>
      postPayment(uniqueId("msg"), { type: "purchase.completed", user_id: user, sku: "EBOOK" }),
    );
    await at("2008-09-10T23:59:59Z", () =>
      postPayment(uniqueId("msg"), { type: "purchase.completed", user_id: uniqueId("payer"), sku: "EBOOK" }),
    );
    await at("2008-09-11T00:00:00Z", () =>
      postPayment(uniqueId("msg"), {
        type: "subscription.activated",
        user_id: user,
        tier: "monthly",
        expires_at: "2008-10-11T00:00:00Z",
      }),
    );
    await at("2008-09-11T09:00:00Z", () =>
      postPayment(uniqueId("msg"), { type: "purchase.refunded", user_id: user, sku: "EBOOK" }),
    );
    await at("2008-09-11T10:00:00Z", () => grant({ user_id: user, type: "purchase", sku: "COURSE" }));
    await at("2008-09-12T00:00:00Z", () =>
      postPayment(uniqueId("msg"), { type: "purchase.completed", user_id: user, sku: "LATER" }),
    );

    const response = await payments("?from=2008-09-10&to=2008-09-11");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      from: "2008-09-10",
      to: "2008-09-11",
      counts: [
        {
          day: "2008-09-10",
          source: "payment",
          type: "grant",
          entitlement: "purchase",
          tier: null,
          sku: "EBOOK",
          count: 2,
        },
        {
          day: "2008-09-11",
          source: "payment",
          type: "grant",
          entitlement: "subscription",
          tier: "monthly",
          sku: null,
          count: 1,
        },
        {
          day: "2008-09-11",
          source: "payment",
          type: "revoke",
          entitlement: "purchase",
          tier: null,
          sku: "EBOOK",
          count: 1,
        },
      ],
    });
  });

  it.each([
    ["no span", "", "from: "],
    ["a day that does not exist", "?from=2026-02-30&to=2026-03-01", "from: must be a real date"],
    ["a span over 366 days", "?from=2024-01-01&to=2025-01-01", "to: the span may cover at most 366 days"],
    ["an unknown parameter", "?from=2026-01-01&to=2026-01-01&source=stripe", "source: is not a field"],
  ])("answers 400 for %s", async (_, query, message) => {
    const response = await payments(query);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body).toEqual(errorBody("invalid_request"));
    expect(body.error.message).toContain(message);
  });
});
