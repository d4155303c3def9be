import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../../../test/secrets";
import { chatWith, createKey } from "../../../test/support/keys";
import {
  atClock,
  errorBody,
  openaiError,
  openaiScenario,
  relay,
  uniqueId,
  uniqueIp,
} from "../../../test/support/relay";
import { sha256Hex } from "../../lib/constant-time";

const hello = { messages: [{ role: "user", content: "Hello" }] };

function admin(path: string, init: RequestInit = {}) {
  return relay(path, {
    ...init,
    headers: {
      "Content-Type": "application/json",
      Authorization: `Bearer ${ADMIN_TOKEN}`,
      "CF-Connecting-IP": uniqueIp(),
    },
  });
}

async function auditOfKey(id: string) {
  const { results } = await env.DB.prepare(
    "SELECT actor, action, target, outcome FROM audit_log WHERE target = ? ORDER BY id",
  )
    .bind(`key:${id}`)
    .all();
  return results;
}

describe("POST /admin/keys", () => {
  it("creates a key: 201 with its record and a secret shown once, stored only as a hash", async () => {
    const name = uniqueId("phone");
    const response = await admin("/admin/keys", {
      method: "POST",
      body: JSON.stringify({
        name,
        scopes: ["chat", "trigger"],
        user_id: "user123",
        models: ["gpt-4o-mini"],
        monthly_token_budget: 500_000,
        monthly_cost_budget_usd: 12.5,
        rate_limit_per_minute: 30,
        expires_at: "2099-01-01T00:00:00+01:00",
      }),
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { key: { id: string }; secret: string };
    expect(body).toEqual({
      success: true,
      key: {
        id: expect.stringMatching(/^key_[0-9a-f]{16}$/),
        name,
        scopes: ["chat", "trigger"],
        user_id: "user123",
        models: ["gpt-4o-mini"],
        monthly_token_budget: 500_000,
        monthly_cost_budget_usd: 12.5,
        rate_limit_per_minute: 30,
        expires_at: "2098-12-31T23:00:00.000Z",
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        revoked_at: null,
      },
      secret: expect.stringMatching(new RegExp(`^smr_${body.key.id.slice(4)}_[A-Za-z0-9_-]{43}$`)),
    });
    const row = await env.DB.prepare("SELECT * FROM relay_keys WHERE id = ?")
      .bind(body.key.id)
      .first<Record<string, unknown>>();
    expect(row?.secret_hash).toBe(await sha256Hex(body.secret));
    expect(JSON.stringify(row)).not.toContain(body.secret.slice(4));
    expect(row?.monthly_cost_budget_micros).toBe(12_500_000);
    expect(await auditOfKey(body.key.id)).toEqual([
      { actor: "admin", action: "key_create", target: `key:${body.key.id}`, outcome: "ok" },
    ]);
  });

  it("defaults to the chat scope and no limits of its own", async () => {
    const { key } = await createKey({ name: "plain" });
    expect(key).toMatchObject({
      scopes: ["chat"],
      user_id: null,
      models: null,
      monthly_token_budget: null,
      monthly_cost_budget_usd: null,
      rate_limit_per_minute: null,
      expires_at: null,
    });
  });

  it.each([
    ["name", {}],
    ["name", { name: "   " }],
    ["scopes.0", { name: "x", scopes: ["admin"] }],
    ["scopes", { name: "x", scopes: ["chat", "chat"] }],
    ["monthly_token_budget", { name: "x", monthly_token_budget: 0 }],
    ["rate_limit_per_minute", { name: "x", rate_limit_per_minute: 1.5 }],
    ["expires_at", { name: "x", expires_at: "2001-01-01T00:00:00Z" }],
    ["user_id", { name: "x", user_id: "not valid!" }],
    ["secret", { name: "x", secret: "smr_mine" }],
  ])("refuses a bad %s with 400 naming it, and creates nothing", async (field, body) => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM relay_keys").first<{ n: number }>();
    const response = await admin("/admin/keys", { method: "POST", body: JSON.stringify(body) });
    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: { message: string } };
    expect(json).toEqual(errorBody("invalid_request"));
    expect(json.error.message.startsWith(`${field}: `)).toBe(true);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM relay_keys").first<{ n: number }>()).toEqual(before);
  });
});

describe("GET /admin/keys", () => {
  it("lists keys without their secrets or hashes", async () => {
    const created = await createKey({ name: uniqueId("listed") });
    const response = await admin("/admin/keys");
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(created.secret);
    expect(text).not.toContain("secret_hash");
    const { keys } = JSON.parse(text) as { keys: Array<Record<string, unknown>> };
    const month = new Date().toISOString().slice(0, 7);
    expect(keys.find((key) => key.id === created.id)).toEqual({
      ...created.key,
      month_usage: { month, requests: 0, tokens: 0, cost_usd: 0, unpriced_requests: 0 },
    });
  });

  it("shows what each key used this UTC month from usage_daily, to set against its budgets", async () => {
    const created = await createKey({ name: uniqueId("spender"), monthly_token_budget: 1000 });
    const other = await createKey({ name: uniqueId("idle") });
    const subject = `key:${created.id}`;
    // Two models on two days of March 2011, one day of February and one of April that do not count.
    await env.DB.batch(
      [
        ["2011-03-01", "gpt-4o-mini", 2, 100, 40, 39],
        ["2011-03-31", "gpt-4o", 1, 10, 5, 75],
        ["2011-02-28", "gpt-4o", 9, 9, 9, 9],
        ["2011-04-01", "gpt-4o", 9, 9, 9, 9],
      ].map((row) =>
        env.DB.prepare(
          `INSERT INTO usage_daily (day, subject, model, requests, prompt_tokens, completion_tokens, cost_micros)
          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
        ).bind(row[0], subject, ...row.slice(1)),
      ),
    );
    const keys = await atClock("2011-03-15T12:00:00Z", async () => {
      const response = await admin("/admin/keys");
      expect(response.status).toBe(200);
      return ((await response.json()) as { keys: Array<{ id: string; month_usage: unknown }> }).keys;
    });
    expect(keys.find((key) => key.id === created.id)?.month_usage).toEqual({
      month: "2011-03",
      requests: 3,
      tokens: 155,
      cost_usd: 0.000114,
      unpriced_requests: 0,
    });
    expect(keys.find((key) => key.id === other.id)?.month_usage).toEqual({
      month: "2011-03",
      requests: 0,
      tokens: 0,
      cost_usd: 0,
      unpriced_requests: 0,
    });
  });
});

describe("POST /admin/keys/{id}/revoke", () => {
  it("revokes: the very next request with the key gets 401, and nothing reaches the upstream", async () => {
    const upstream = openaiScenario("ok");
    const { id, secret } = await createKey();
    const vars = { OPENAI_BASE_URL: upstream.baseUrl };
    expect((await chatWith(secret, hello, vars)).status).toBe(200);
    const response = await admin(`/admin/keys/${id}/revoke`, { method: "POST" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { key: { revoked_at: string } };
    expect(body).toMatchObject({ success: true, key: { id, revoked_at: expect.any(String) } });
    const refused = await chatWith(secret, hello, vars);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual(openaiError("unauthorized"));
    expect(await upstream.received()).toHaveLength(1);
    expect((await auditOfKey(id)).map((row) => row.action)).toEqual(["key_create", "key_revoke"]);

    // Revoking again changes nothing: the first revocation's time stands.
    const again = await admin(`/admin/keys/${id}/revoke`, { method: "POST" });
    expect(((await again.json()) as { key: { revoked_at: string } }).key.revoked_at).toBe(body.key.revoked_at);
  });

  it("revokes at the key's Meter too, so a lease anywhere else ends within a second", async () => {
    const { id, secret } = await createKey();
    const meter = env.METER.getByName(`key:${id}`);
    const hash = await sha256Hex(secret);
    const limits = { perMinute: 60, budget: {}, queueMs: 0 };
    const acquire = () =>
      meter.acquire({
        subject: `key:${id}`,
        leaseId: crypto.randomUUID(),
        need: { tokens: 1, micros: 0 },
        least: { tokens: 1, micros: 0 },
        secretHash: hash,
        limits,
        reports: [],
      });
    const granted = await acquire();
    expect(granted.ok).toBe(true);
    if (granted.ok) expect(granted.lease.until - Date.now()).toBeLessThanOrEqual(1000);
    await admin(`/admin/keys/${id}/revoke`, { method: "POST" });
    expect(await acquire()).toEqual({ ok: false, refusal: { refused: "unauthorized" } });
  });

  it("answers 404 for an unknown key and 400 for a malformed id", async () => {
    const unknown = await admin("/admin/keys/key_0123456789abcdef/revoke", { method: "POST" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual(errorBody("key_not_found", "No relay key key_0123456789abcdef"));
    const malformed = await admin("/admin/keys/abc/revoke", { method: "POST" });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual(
      errorBody("invalid_request", "id: must be a key id (key_ and 16 hex digits)"),
    );
  });
});
