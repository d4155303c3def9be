import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../../../test/secrets";
import { postStripe, stripeEvent, userJwt } from "../../../test/support/ledger";
import { relay, uniqueId, uniqueIp } from "../../../test/support/relay";
import { ledgerUserId, USER_ID_PATTERN } from "./identity";

async function get(path: string, token: string) {
  const response = await relay(path, { headers: { Authorization: `Bearer ${token}`, "CF-Connecting-IP": uniqueIp() } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("ledgerUserId", () => {
  it("keeps a subject that is already a valid user id", async () => {
    expect(await ledgerUserId("user_42-A")).toBe("user_42-A");
  });

  it.each(["alice@example.com", "auth0|5f7c8ec7c33c6c004bbafe82", "x".repeat(201), "idh-looks-derived", "ü"])(
    "derives a stable id Stripe keeps for %s",
    async (subject) => {
      const id = await ledgerUserId(subject);
      expect(id).toMatch(/^idh-[A-Za-z0-9_-]{43}$/);
      expect(id).toMatch(USER_ID_PATTERN);
      expect(await ledgerUserId(subject)).toBe(id);
    },
  );

  it("gives different subjects different ids", async () => {
    expect(await ledgerUserId("a@example.com")).not.toBe(await ledgerUserId("b@example.com"));
  });
});

// Stripe drops a client_reference_id outside [A-Za-z0-9_-]{1,200} (docs: "Payment Links URL parameters"):
// before, an e-mail subject got a link, paid, and was never credited.
describe("a user whose JWT sub is an e-mail address", () => {
  it("gets a link that credits them, and sees the subscription it paid for", async () => {
    const subject = `${uniqueId("alice")}@example.com`;
    const token = await userJwt(subject);
    const link = await get("/billing/link?tier=monthly", token);
    expect(link.status).toBe(200);
    const reference = new URL(link.body.payment_link as string).searchParams.get("client_reference_id") ?? "";
    expect(reference).toBe(await ledgerUserId(subject));

    const checkout = stripeEvent(uniqueId("evt"), "checkout.session.completed", {
      id: uniqueId("cs"),
      payment_status: "paid",
      client_reference_id: reference,
      subscription: uniqueId("sub"),
      metadata: { tier: "monthly" },
    });
    expect(await (await postStripe(checkout)).json()).toMatchObject({ outcome: "applied" });

    for (const query of ["", `?user_id=${encodeURIComponent(subject)}`, `?user_id=${reference}`]) {
      const own = await get(`/entitlements/check${query}`, token);
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ user_id: reference, has_access: true, subscription: { tier: "monthly" } });
    }
    const admin = await get(`/entitlements/check?user_id=${reference}`, ADMIN_TOKEN);
    expect(admin.body).toMatchObject({ user_id: reference, has_access: true });
    expect((await get(`/entitlements/check?user_id=someone-else`, token)).status).toBe(403);
  });

  it("finds the record the original relay kept under the raw subject in KV", async () => {
    const subject = `${uniqueId("bob")}@example.com`;
    await env.ENTITLEMENTS_KV.put(
      `user:${subject}`,
      JSON.stringify({ purchases: [{ sku: "EBOOK", purchased_at: "2025-10-15T10:00:00Z" }] }),
    );
    const own = await get("/entitlements/check", await userJwt(subject));
    expect(own.body).toMatchObject({
      user_id: await ledgerUserId(subject),
      has_access: true,
      purchases: [{ sku: "EBOOK", purchased_at: "2025-10-15T10:00:00.000Z" }],
    });
  });
});
