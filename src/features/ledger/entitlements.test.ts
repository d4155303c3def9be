import { describe, expect, inject, it } from "vitest";
import { ADMIN_TOKEN, CHATGPT_BEARER_TOKEN } from "../../../test/secrets";
import { adminHeaders, auditOf, grant, providerJwt, rowsOf, unsecuredJwt, userJwt } from "../../../test/support/ledger";
import { atClock, errorBody, relay, uniqueId, uniqueIp } from "../../../test/support/relay";

function check(userId: string, token?: string, vars?: Record<string, string | undefined>) {
  const headers: Record<string, string> = { "CF-Connecting-IP": uniqueIp() };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  return relay(`/entitlements/check?user_id=${encodeURIComponent(userId)}`, { headers }, vars);
}

const FAR = "2099-01-01T00:00:00.000Z";

/** A user with a yearly subscription until 2099 and one e-book. */
async function customer() {
  const user = uniqueId("u");
  const granted = await grant({ user_id: user, type: "subscription", tier: "yearly", expires_at: FAR });
  expect(granted.status).toBe(200);
  expect((await grant({ user_id: user, type: "purchase", sku: "EBOOK" })).status).toBe(200);
  const purchasedAt = (await rowsOf("purchases", user))[0]?.purchased_at as string;
  const expected = {
    success: true,
    user_id: user,
    has_access: true,
    subscription: { tier: "yearly", status: "active", expires_at: FAR },
    subscriptions: [
      { tier: "yearly", status: "active", expires_at: FAR, source: `admin:${granted.headers.get("X-Request-Id")}` },
    ],
    purchases: [{ sku: "EBOOK", purchased_at: purchasedAt }],
    message: "User has active access",
  };
  return { user, expected };
}

describe("GET /entitlements/check: who may read", () => {
  it("answers the admin for any user", async () => {
    const { user, expected } = await customer();
    const response = await check(user, ADMIN_TOKEN);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(expected);
  });

  it("answers a user JWT (HS256) whose sub is the user_id", async () => {
    const { user, expected } = await customer();
    const response = await check(user, await userJwt(user));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(expected);
  });

  it("refuses a valid JWT for another user with 403", async () => {
    const { user } = await customer();
    const response = await check(user, await userJwt("someone-else"));
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual(errorBody("user_mismatch", "This user token belongs to another user"));
  });

  it.each([
    ["expired", () => userJwt("x", { expiresAt: Math.floor(Date.now() / 1000) - 120 })],
    ["signed with another secret", () => userJwt("x", { secret: "not-the-secret-0123456789abcdef0" })],
    ["without sub", () => userJwt("x", { subject: null })],
    ["alg none (RFC 8725 §3.1)", async () => unsecuredJwt("x")],
    ["not a JWT", async () => "garbage-token"],
  ])("refuses a token %s with 401", async (_, token) => {
    const response = await check("x", await token());
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="relay"');
    expect(await response.json()).toEqual(errorBody("unauthorized"));
  });

  it("pins issuer and audience when they are configured", async () => {
    const vars = { USER_JWT_ISSUER: "https://id.test", USER_JWT_AUDIENCE: "soul-mirror" };
    const user = uniqueId("u");
    const good = await userJwt(user, { issuer: "https://id.test", audience: "soul-mirror" });
    const wrongAud = await userJwt(user, { issuer: "https://id.test", audience: "other-app" });
    const wrongIss = await userJwt(user, { issuer: "https://evil.test", audience: "soul-mirror" });
    expect((await check(user, good, vars)).status).toBe(200);
    expect((await check(user, wrongAud, vars)).status).toBe(401);
    expect((await check(user, wrongIss, vars)).status).toBe(401);
  });

  it("refuses a request without a credential with 401", async () => {
    const response = await check(uniqueId("u"));
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual(errorBody("unauthorized", "ADMIN_TOKEN or a user token is required"));
  });

  it("refuses CHATGPT_BEARER_TOKEN: a ChatGPT action is not the admin", async () => {
    expect((await check(uniqueId("u"), CHATGPT_BEARER_TOKEN)).status).toBe(401);
  });

  it("answers without a credential in public mode, but still checks a token that is sent", async () => {
    const { user, expected } = await customer();
    const open = { ENTITLEMENTS_PUBLIC_CHECK: "true" };
    const response = await check(user, undefined, open);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(expected);
    expect((await check(user, "wrong-token", open)).status).toBe(401);
    expect((await check(user, await userJwt("someone-else"), open)).status).toBe(403);
  });
});

describe("GET /entitlements/check: identity provider keys (USER_JWKS_URL)", () => {
  const jwks = () => ({
    USER_JWKS_URL: inject("jwksStandIn"),
    USER_JWT_ISSUER: "https://id.test",
    USER_JWT_AUDIENCE: "soul-mirror",
  });

  it("accepts a provider token with the pinned issuer and audience", async () => {
    const { user, expected } = await customer();
    const token = await providerJwt(user, { issuer: "https://id.test", audience: "soul-mirror" });
    const response = await check(user, token, jwks());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(expected);
  });

  it("refuses a wrong audience, a wrong issuer, an expired token and an HS256 token", async () => {
    const user = uniqueId("u");
    const tokens = [
      await providerJwt(user, { issuer: "https://id.test", audience: "other-app" }),
      await providerJwt(user, { issuer: "https://evil.test", audience: "soul-mirror" }),
      await providerJwt(user, {
        issuer: "https://id.test",
        audience: "soul-mirror",
        expiresAt: Math.floor(Date.now() / 1000) - 120,
      }),
      // An HMAC token must not pass once keys come from the provider (no algorithm confusion).
      await userJwt(user, { issuer: "https://id.test", audience: "soul-mirror" }),
    ];
    for (const token of tokens) expect((await check(user, token, jwks())).status).toBe(401);
  });

  it("answers 503 naming USER_JWT_ISSUER when the JWKS URL is set without it", async () => {
    const user = uniqueId("u");
    const token = await providerJwt(user, { issuer: "https://id.test", audience: "soul-mirror" });
    const response = await check(user, token, { ...jwks(), USER_JWT_ISSUER: "" });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(
      errorBody("not_configured", "The relay is not configured: USER_JWT_ISSUER must be set with USER_JWKS_URL"),
    );
  });
});

describe("GET /entitlements/check: answers", () => {
  it("answers a user with nothing", async () => {
    const user = uniqueId("u");
    const response = await check(user, ADMIN_TOKEN);
    expect(await response.json()).toEqual({
      success: true,
      user_id: user,
      has_access: false,
      subscription: null,
      subscriptions: [],
      purchases: [],
      message: "User has no active access",
    });
  });

  it("refuses a malformed user_id with 400 naming it", async () => {
    const response = await check("not valid!", ADMIN_TOKEN);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      errorBody("invalid_request", "user_id: must be 1-200 letters, digits, _ or -"),
    );
  });

  it("is rate limited per IP by PUBLIC_RATE_LIMIT, before authentication", async () => {
    const ip = uniqueIp();
    const vars = { PUBLIC_RATE_LIMIT: "2" };
    const send = () => relay("/entitlements/check?user_id=x", { headers: { "CF-Connecting-IP": ip } }, vars);
    expect((await send()).status).toBe(401);
    expect((await send()).status).toBe(401);
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(limited.headers.get("RateLimit-Policy")).toBe('"public";q=2;w=60');
  });
});

describe("POST /entitlements/grant", () => {
  it("grants a subscription with an explicit expiry and writes event, state and audit in one go", async () => {
    const user = uniqueId("u");
    const response = await grant({
      user_id: user,
      type: "subscription",
      tier: "monthly",
      expires_at: "2030-05-01T12:00:00+02:00",
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { event: { created_at: string } };
    const requestId = response.headers.get("X-Request-Id");
    expect(body).toEqual({
      success: true,
      user_id: user,
      event: {
        id: expect.any(Number),
        type: "grant",
        entitlement: "subscription",
        source: "admin",
        source_ref: `admin:${requestId}`,
        source_event_id: requestId,
        tier: "monthly",
        expires_at: "2030-05-01T10:00:00.000Z",
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      },
      message: "Entitlement granted",
    });
    expect(await rowsOf("ledger_events", user)).toEqual([
      {
        type: "grant",
        entitlement: "subscription",
        tier: "monthly",
        sku: null,
        expires_at: "2030-05-01T10:00:00.000Z",
        reason: null,
        source: "admin",
        source_ref: `admin:${requestId}`,
        source_event_id: requestId,
      },
    ]);
    expect(await rowsOf("subscriptions", user)).toEqual([
      {
        tier: "monthly",
        expires_at: "2030-05-01T10:00:00.000Z",
        source_ref: `admin:${requestId}`,
        revoked_at: null,
        revoke_reason: null,
      },
    ]);
    expect(await auditOf(user)).toEqual([{ actor: "admin", action: "grant", target: `user:${user}`, outcome: "ok" }]);
  });

  it.each([
    ["2026-11-30T10:00:00.000Z", "quarterly", "2027-02-28T10:00:00.000Z"],
    ["2027-01-31T10:00:00.000Z", "monthly", "2027-02-28T10:00:00.000Z"],
    ["2028-02-29T10:00:00.000Z", "yearly", "2029-02-28T10:00:00.000Z"],
  ])("runs a subscription granted at %s without expires_at one %s period, to %s", async (now, tier, end) => {
    const user = uniqueId("u");
    const event = await atClock(now, async () => {
      const response = await grant({ user_id: user, type: "subscription", tier });
      return ((await response.json()) as { event: { created_at: string; expires_at: string } }).event;
    });
    expect(event).toMatchObject({ created_at: now, expires_at: end });
  });

  it("keeps an optional reason with the grant, shown in the history", async () => {
    const user = uniqueId("u");
    const response = await grant({ user_id: user, type: "purchase", sku: "EBOOK", reason: "  goodwill, ticket 12 " });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      event: { type: "grant", sku: "EBOOK", reason: "goodwill, ticket 12" },
    });
    expect(await rowsOf("ledger_events", user)).toEqual([expect.objectContaining({ reason: "goodwill, ticket 12" })]);
    const blank = await grant({ user_id: user, type: "purchase", sku: "EBOOK", reason: " " });
    expect(blank.status).toBe(400);
    expect(await blank.json()).toEqual(
      errorBody("invalid_request", expect.stringMatching(/^reason:/) as unknown as string),
    );
  });

  it("records all 50 grants of different SKUs fired at once for one user", async () => {
    const user = uniqueId("u");
    const skus = Array.from({ length: 50 }, (_, i) => `SKU-${i}`);
    const responses = await Promise.all(skus.map((sku) => grant({ user_id: user, type: "purchase", sku })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    const purchases = await rowsOf("purchases", user);
    expect(purchases.map((p) => p.sku).sort()).toEqual([...skus].sort());
    expect(await rowsOf("ledger_events", user)).toHaveLength(50);
    const body = (await (await check(user, ADMIN_TOKEN)).json()) as { purchases: unknown[] };
    expect(body.purchases).toHaveLength(50);
  });

  // On 2026-11-30 SQLite's `+1 months` turned 30 Jan into 2 Mar and this chain ended on 2 Dec 2027.
  it.each([
    ["2026-11-30T10:00:00.000Z", "2027-11-28T10:00:00.000Z"],
    ["2027-01-31T00:00:00.000Z", "2028-01-28T00:00:00.000Z"],
    ["2026-06-15T08:00:00.000Z", "2027-06-15T08:00:00.000Z"],
  ])("adds up 12 grants fired at once at %s: each starts where the last ends (%s)", async (now, end) => {
    const user = uniqueId("u");
    const [statuses, body] = await atClock(now, async () => {
      const responses = await Promise.all(
        Array.from({ length: 12 }, () => grant({ user_id: user, type: "subscription", tier: "monthly" })),
      );
      const answer = await check(user, ADMIN_TOKEN);
      return [
        responses.map((r) => r.status),
        (await answer.json()) as { subscription: unknown; subscriptions: unknown[] },
      ];
    });
    expect(statuses).toEqual(Array(12).fill(200));
    expect(body.subscription).toEqual({ tier: "monthly", status: "active", expires_at: end });
    expect(body.subscriptions).toHaveLength(12);
  });

  it("refuses CHATGPT_BEARER_TOKEN with 401 and writes nothing", async () => {
    const user = uniqueId("u");
    const response = await relay("/entitlements/grant", {
      method: "POST",
      headers: adminHeaders(uniqueIp(), CHATGPT_BEARER_TOKEN),
      body: JSON.stringify({ user_id: user, type: "purchase", sku: "EBOOK" }),
    });
    expect(response.status).toBe(401);
    expect(await rowsOf("ledger_events", user)).toEqual([]);
    expect(await auditOf(user)).toEqual([]);
  });

  it("answers 503 naming ADMIN_TOKEN when it is not set", async () => {
    const response = await relay(
      "/entitlements/grant",
      { method: "POST", headers: adminHeaders(), body: "{}" },
      { ADMIN_TOKEN: undefined },
    );
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(
      errorBody("not_configured", "The relay is not configured: ADMIN_TOKEN is not set"),
    );
  });

  it.each([
    [{ type: "subscription", tier: "weekly" }, "tier"],
    [{ type: "subscription", tier: "monthly", expires_at: "next tuesday" }, "expires_at"],
    [{ type: "purchase", sku: "bad sku!" }, "sku"],
    [{ type: "purchase", sku: "EBOOK", user_id: "a b" }, "user_id"],
    [{ type: "gift", sku: "EBOOK" }, "type"],
  ])("refuses %j with 400 naming %s and writes nothing", async (fields, field) => {
    const user = uniqueId("u");
    const response = await grant({ user_id: user, ...fields });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message.startsWith(`${field}:`)).toBe(true);
    expect(await rowsOf("ledger_events", user)).toEqual([]);
  });
});

describe("POST /entitlements/revoke", () => {
  function revoke(body: Record<string, unknown>) {
    return relay("/entitlements/revoke", { method: "POST", headers: adminHeaders(), body: JSON.stringify(body) });
  }

  it("revokes a purchase with its reason", async () => {
    const { user } = await customer();
    const response = await revoke({ user_id: user, type: "purchase", sku: "EBOOK", reason: "refund" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      user_id: user,
      event: {
        id: expect.any(Number),
        type: "revoke",
        entitlement: "purchase",
        source: "admin",
        source_event_id: response.headers.get("X-Request-Id"),
        sku: "EBOOK",
        reason: "refund",
        created_at: expect.any(String),
      },
      message: "Entitlement revoked",
    });
    expect(await rowsOf("purchases", user)).toEqual([
      {
        sku: "EBOOK",
        purchased_at: expect.any(String),
        source_ref: expect.stringMatching(/^admin:/),
        revoked_at: expect.any(String),
        revoke_reason: "refund",
      },
    ]);
    expect((await auditOf(user)).map((row) => row.action)).toEqual(["grant", "grant", "revoke"]);
  });

  it("revokes a subscription: status revoked, has_access false", async () => {
    const user = uniqueId("u");
    await grant({ user_id: user, type: "subscription", tier: "monthly", expires_at: FAR });
    const response = await revoke({ user_id: user, type: "subscription", tier: "monthly", reason: "chargeback" });
    expect(response.status).toBe(200);
    const body = (await (await check(user, ADMIN_TOKEN)).json()) as Record<string, unknown>;
    expect(body.has_access).toBe(false);
    expect(body.subscription).toEqual({ tier: "monthly", status: "revoked", expires_at: FAR });
  });

  it("revokes only the source named by source_ref, and every source of the tier without it", async () => {
    const user = uniqueId("u");
    const first = await grant({ user_id: user, type: "subscription", tier: "monthly", expires_at: FAR });
    await grant({ user_id: user, type: "subscription", tier: "monthly", expires_at: "2098-01-01T00:00:00Z" });
    const firstRef = `admin:${first.headers.get("X-Request-Id")}`;
    const one = await revoke({
      user_id: user,
      type: "subscription",
      tier: "monthly",
      reason: "x",
      source_ref: firstRef,
    });
    expect(one.status).toBe(200);
    expect(((await one.json()) as { event: unknown }).event).toMatchObject({ source_ref: firstRef });
    const after = (await (await check(user, ADMIN_TOKEN)).json()) as { subscriptions: Array<{ status: string }> };
    expect(after.subscriptions.map((s) => s.status).sort()).toEqual(["active", "revoked"]);

    const again = await revoke({
      user_id: user,
      type: "subscription",
      tier: "monthly",
      reason: "x",
      source_ref: firstRef,
    });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual(
      errorBody("entitlement_not_found", `User ${user} has no unrevoked monthly subscription from ${firstRef}`),
    );

    expect((await revoke({ user_id: user, type: "subscription", tier: "monthly", reason: "all" })).status).toBe(200);
    const none = (await (await check(user, ADMIN_TOKEN)).json()) as Record<string, unknown>;
    expect(none.has_access).toBe(false);
  });

  it("answers 404 when there is nothing to revoke, and writes nothing", async () => {
    const { user } = await customer();
    const response = await revoke({ user_id: user, type: "subscription", tier: "monthly", reason: "refund" });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(
      errorBody("entitlement_not_found", `User ${user} has no unrevoked monthly subscription`),
    );
    expect(await rowsOf("ledger_events", user)).toHaveLength(2);
  });

  it("requires a reason", async () => {
    const response = await revoke({ user_id: uniqueId("u"), type: "purchase", sku: "EBOOK" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      errorBody("invalid_request", expect.stringMatching(/^reason:/) as unknown as string),
    );
  });
});

describe("GET /entitlements/history", () => {
  it("lists every event oldest first for the admin", async () => {
    const { user } = await customer();
    const response = await relay(`/entitlements/history?user_id=${user}`, { headers: adminHeaders() });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { events: Array<Record<string, unknown>> };
    expect(body).toEqual({
      success: true,
      user_id: user,
      events: [
        expect.objectContaining({ type: "grant", entitlement: "subscription", tier: "yearly", expires_at: FAR }),
        expect.objectContaining({ type: "grant", entitlement: "purchase", sku: "EBOOK" }),
      ],
    });
    expect(body.events[1]).not.toHaveProperty("tier");
  });

  it("is for the admin only: a user's own JWT gets 401", async () => {
    const user = uniqueId("u");
    const response = await relay(`/entitlements/history?user_id=${user}`, {
      headers: { Authorization: `Bearer ${await userJwt(user)}` },
    });
    expect(response.status).toBe(401);
  });
});
