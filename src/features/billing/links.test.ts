import { describe, expect, it } from "vitest";
import { userJwt } from "../../../test/support/ledger";
import { errorBody, relay, uniqueIp } from "../../../test/support/relay";
import { paymentLink, skuVariable } from "./links";

function get(path: string, headers: Record<string, string> = {}, vars?: Record<string, string | undefined>) {
  return relay(path, { headers: { "CF-Connecting-IP": uniqueIp(), ...headers } }, vars);
}

describe("GET /billing/link", () => {
  it("answers the tier's link in the original shape", async () => {
    const response = await get("/billing/link?tier=monthly");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      tier: "monthly",
      payment_link: "https://pay.test/monthly",
      message: "Redirect user to this payment link to complete subscription",
    });
  });

  it("appends user_id as client_reference_id, keeping the link's own query", async () => {
    const response = await get("/billing/link?tier=quarterly&user_id=user_42");
    expect(await response.json()).toMatchObject({
      payment_link: "https://pay.test/quarterly?plan=q&client_reference_id=user_42",
    });
  });

  it("takes the user from a verified user JWT", async () => {
    const response = await get("/billing/link?tier=yearly", { Authorization: `Bearer ${await userJwt("jwt-user")}` });
    expect(await response.json()).toMatchObject({
      payment_link: "https://pay.test/yearly?client_reference_id=jwt-user",
    });
  });

  it("refuses a user_id that differs from the JWT's user with 403, and a bad JWT with 401", async () => {
    const token = await userJwt("jwt-user");
    const mismatch = await get("/billing/link?tier=yearly&user_id=other", { Authorization: `Bearer ${token}` });
    expect(mismatch.status).toBe(403);
    expect(await mismatch.json()).toEqual(errorBody("user_mismatch", "user_id does not match the user token"));
    const bad = await get("/billing/link?tier=yearly", { Authorization: "Bearer not.a.token" });
    expect(bad.status).toBe(401);
  });

  it.each([
    ["/billing/link", 'tier: Invalid option: expected one of "monthly"|"quarterly"|"yearly"'],
    ["/billing/link?tier=weekly", 'tier: Invalid option: expected one of "monthly"|"quarterly"|"yearly"'],
    ["/billing/link?tier=monthly&user_id=a%20b", "user_id: must be 1-200 letters, digits, _ or -"],
  ])("refuses %s with 400 naming the field", async (path, message) => {
    const response = await get(path);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errorBody("invalid_request", message));
  });

  it("answers 503 naming the tier's variable when its link is not set", async () => {
    const response = await get("/billing/link?tier=monthly", {}, { CHASE_LINK_MONTHLY: undefined });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(
      errorBody("not_configured", "The relay is not configured: CHASE_LINK_MONTHLY is not set"),
    );
  });

  it("is rate limited per IP by PUBLIC_RATE_LIMIT, sharing the bucket with /store/link", async () => {
    const ip = uniqueIp();
    const vars = { PUBLIC_RATE_LIMIT: "2" };
    const send = (path: string) => relay(path, { headers: { "CF-Connecting-IP": ip } }, vars);
    expect((await send("/billing/link?tier=monthly")).status).toBe(200);
    const second = await send("/store/link?sku=EBOOK");
    expect(second.status).toBe(200);
    expect(second.headers.get("RateLimit")).toMatch(/^"public";r=0;t=\d+$/);
    const limited = await send("/billing/link?tier=monthly");
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual(errorBody("rate_limited"));
  });
});

describe("GET /store/link", () => {
  it("answers the SKU's link in the original shape", async () => {
    const response = await get("/store/link?sku=EBOOK&user_id=buyer-1");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      sku: "EBOOK",
      payment_link: "https://pay.test/ebook?client_reference_id=buyer-1",
      message: "Redirect user to this payment link to complete purchase",
    });
  });

  it("maps my-course to CHASE_LINK_SKU_MY_COURSE", async () => {
    const response = await get("/store/link?sku=my-course");
    expect(await response.json()).toMatchObject({ sku: "my-course", payment_link: "https://pay.test/my-course" });
  });

  it("answers 404 for a SKU without a link", async () => {
    const response = await get("/store/link?sku=NOPE");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(errorBody("unknown_sku", "No payment link for SKU NOPE"));
  });

  it.each(["/store/link", "/store/link?sku=bad%20sku", `/store/link?sku=${"A".repeat(65)}`])(
    "refuses %s with 400 naming sku",
    async (path) => {
      const response = await get(path);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message.startsWith("sku:")).toBe(true);
    },
  );

  it("answers 503 when a SKU's link is not a URL", async () => {
    const response = await get("/store/link?sku=EBOOK", {}, { CHASE_LINK_SKU_EBOOK: "not a url" });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(
      errorBody("not_configured", "The relay is not configured: CHASE_LINK_SKU_EBOOK is not a URL"),
    );
  });
});

describe("links", () => {
  it("names the variable of a SKU in upper case with - as _", () => {
    expect(skuVariable("my-course_2")).toBe("CHASE_LINK_SKU_MY_COURSE_2");
  });

  it("encodes client_reference_id as a query parameter", () => {
    expect(paymentLink("https://buy.stripe.com/abc#x", "V", "u-1")).toBe(
      "https://buy.stripe.com/abc?client_reference_id=u-1#x",
    );
  });
});
