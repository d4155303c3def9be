import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RELAY_SECRET } from "../../../test/secrets";
import { aroundNow, chatWith, createKey, eventually, meterOf, usageRows } from "../../../test/support/keys";
import { grant, userJwt } from "../../../test/support/ledger";
import { FAR } from "../../../test/support/library";
import { captureLogs, openaiError, openaiScenario, relay, uniqueId, uniqueIp } from "../../../test/support/relay";
import { promptEstimate } from "../../metering/prices";

const hello = { messages: [{ role: "user", content: "Hello" }] };

/** The secret with its last character changed (never to itself). */
function otherLastCharacter(secret: string): string {
  return `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
}

describe("chat with a relay key", () => {
  it("answers the key as a bearer token or X-Relay-Secret, sending only the relay's own key upstream", async () => {
    const upstream = openaiScenario("ok");
    const { secret } = await createKey();
    const vars = { OPENAI_BASE_URL: upstream.baseUrl };
    const { result: viaBearer, logs } = await captureLogs(() => chatWith(secret, hello, vars));
    expect(viaBearer.status).toBe(200);
    expect(logs).toContain('"caller":"key"');
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(secret.slice(-20));
    const viaHeader = await relay(
      "/relay/openai/chat",
      {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Relay-Secret": secret, "CF-Connecting-IP": uniqueIp() },
        body: JSON.stringify(hello),
      },
      vars,
    );
    expect(viaHeader.status).toBe(200);
    const received = await upstream.received();
    expect(received).toHaveLength(2);
    expect(JSON.stringify(received.map((r) => r.headers))).not.toContain(secret);
  });

  it.each([
    ["a wrong secret for an existing key", async () => otherLastCharacter((await createKey()).secret)],
    ["a key that was never created", async () => `smr_0123456789abcdef_${"A".repeat(43)}`],
    ["a malformed key", async () => "smr_nope"],
  ])("refuses %s with 401 and sends nothing", async (_, secret) => {
    const upstream = openaiScenario("ok");
    const response = await chatWith(await secret(), hello, { OPENAI_BASE_URL: upstream.baseUrl });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual(openaiError("unauthorized", "Missing or invalid credentials"));
    expect(await upstream.received()).toEqual([]);
  });

  it("narrows the models: the key's list within ALLOWED_MODELS", async () => {
    const upstream = openaiScenario("ok");
    const { secret } = await createKey({ models: ["gpt-4o-mini"] });
    const vars = { OPENAI_BASE_URL: upstream.baseUrl, ALLOWED_MODELS: "gpt-4o-mini,gpt-4o" };
    const refused = await chatWith(secret, { ...hello, model: "gpt-4o" }, vars);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual(
      openaiError("model_not_allowed", 'model: "gpt-4o" is not one of this relay key\'s models'),
    );
    expect((await chatWith(secret, { ...hello, model: "gpt-4o-mini" }, vars)).status).toBe(200);
    expect(await upstream.received()).toHaveLength(1);
  });

  it("refuses a key without the chat scope with 403", async () => {
    const { secret } = await createKey({ scopes: ["trigger"] });
    const response = await chatWith(secret, hello);
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual(openaiError("scope_not_allowed"));
  });

  it("uses the key's own per-minute limit instead of the per-IP one", async () => {
    const { secret } = await createKey({ rate_limit_per_minute: 2 });
    const vars = { RATE_LIMIT_REQUESTS: "1" };
    const ip = uniqueIp();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await chatWith(secret, hello, vars, { "CF-Connecting-IP": ip }));
    expect(statuses.map((r) => r.status)).toEqual([200, 200, 429]);
    // Every answer carries the key's own limit, in the IETF draft's headers and OpenAI's.
    const [first, second, limited] = statuses as [Response, Response, Response];
    expect(first.headers.get("RateLimit-Policy")).toBe('"subject";q=2;w=60');
    expect(first.headers.get("RateLimit")).toMatch(/^"subject";r=1;t=\d+$/);
    expect(first.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    expect(second.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBeNull();
    expect(limited.headers.get("RateLimit-Policy")).toBe('"subject";q=2;w=60');
    expect(limited.headers.get("RateLimit")).toMatch(/^"subject";r=0;t=\d+$/);
    expect(limited.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(limited.headers.get("x-ratelimit-reset-requests")).toMatch(/^(?:\d+m)?[\d.]+s$/);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await limited.json()).toEqual(openaiError("rate_limited", undefined, null, "rate_limit_error"));
  });

  it("refuses a key past its expires_at", async () => {
    const { id, secret } = await createKey({ expires_at: new Date(Date.now() + 60_000).toISOString() });
    await env.DB.prepare("UPDATE relay_keys SET expires_at = ? WHERE id = ?")
      .bind("2000-01-01T00:00:00.000Z", id)
      .run();
    const row = await env.DB.prepare("SELECT * FROM relay_keys WHERE id = ?").bind(id).first<Record<string, string>>();
    await env.METER.getByName(`key:${id}`).configure(`key:${id}`, {
      secretHash: row?.secret_hash as string,
      scopes: ["chat"],
      models: null,
      userId: null,
      budget: {},
      perMinute: null,
      expiresAt: "2000-01-01T00:00:00.000Z",
      revokedAt: null,
    });
    expect((await chatWith(secret, hello)).status).toBe(401);
  });
});

describe("budgets: spend never passes a budget, however many requests race", () => {
  it("never passes the budget with 50 requests at once, each really generating its whole cap", async () => {
    // Through the front door, so that the 50 requests are 50 requests of their own to the Worker; the
    // stand-in generates every token the cap allows (gen-100), so each request spends its worst case but
    // the prompt's estimate.
    const upstream = openaiScenario("gen-100");
    const request = { ...hello, max_tokens: 100 };
    const worstCase = promptEstimate(request) + 100;
    const { id, secret } = await createKey({ monthly_token_budget: 10 * worstCase });
    const vars = { OPENAI_BASE_URL: upstream.baseUrl };
    const responses = await Promise.all(Array.from({ length: 50 }, () => chatWith(secret, request, vars)));
    const admitted = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status !== 200);
    expect(admitted.length).toBeGreaterThanOrEqual(10);
    for (const response of refused) {
      expect(response.status).toBe(429);
      expect(await response.json()).toEqual(openaiError("budget_exceeded"));
      expect(Number(response.headers.get("Retry-After"))).toBeGreaterThan(0);
    }
    for (const response of admitted) expect(await response.json()).toMatchObject({ object: "chat.completion" });
    // Only the admitted requests reached the upstream, and what they really used fits in the budget.
    expect(await upstream.received()).toHaveLength(admitted.length);
    await eventually(async () => {
      const meter = await meterOf(`key:${id}`);
      expect(meter?.reserved.tokens).toBe(0);
      expect(meter?.committed.tokens).toBeLessThanOrEqual(10 * worstCase);
    });
  });

  it("charges a stream that breaks off before its usage arrives an estimate of what it produced", async () => {
    const upstream = openaiScenario("cut-2");
    const request = { ...hello, max_tokens: 50, stream: true };
    const { id, secret } = await createKey({ monthly_token_budget: 1_000_000 });
    const response = await chatWith(secret, request, { OPENAI_BASE_URL: upstream.baseUrl });
    await response.text().catch(() => "");
    // "chunk0" and " chunk1": 13 bytes in 2 pieces, a token per 3 bytes → 5 tokens, never the cap's 50.
    await eventually(async () => {
      expect((await meterOf(`key:${id}`))?.committed.tokens).toBe(promptEstimate(request) + 5);
    });
    await eventually(async () => {
      const rows = await usageRows(`${aroundNow()}&group_by=subject`);
      expect(rows.find((row) => row.subject === `key:${id}`)).toMatchObject({
        requests: 1,
        completion_tokens: 5,
        estimated_requests: 1,
      });
    });
  });

  it("refuses a model without a price when the key has a cost budget", async () => {
    const { secret } = await createKey({ monthly_cost_budget_usd: 1 });
    const response = await chatWith(secret, { ...hello, model: "mystery-model" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(openaiError("model_not_priced"));
  });
});

describe("usage: always asked for upstream, given to the client only when it asked", () => {
  async function streamed(body: Record<string, unknown>, credential: string) {
    const upstream = openaiScenario("drip-3-5");
    const response = await chatWith(
      credential,
      { ...hello, stream: true, ...body },
      { OPENAI_BASE_URL: upstream.baseUrl },
    );
    const text = await response.text();
    const [received] = await upstream.received();
    return { text, received };
  }

  /** What the stand-in (speaking OpenAI's format) sends for this request, asked directly. */
  async function direct(body: Record<string, unknown>) {
    const upstream = openaiScenario("drip-3-5");
    const response = await fetch(`${upstream.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...hello, model: "gpt-4o-mini", stream: true, ...body }),
    });
    return response.text();
  }

  it("removes the usage chunk and the usage fields when the client did not ask: exactly OpenAI's stream", async () => {
    const { text, received } = await streamed({}, RELAY_SECRET);
    expect(received?.body).toMatchObject({ stream_options: { include_usage: true } });
    expect(text).toBe(await direct({}));
    expect(text).not.toContain('"usage"');
  });

  it("passes the usage chunk through unchanged when the client asked for it", async () => {
    const { secret } = await createKey();
    const { text } = await streamed({ stream_options: { include_usage: true } }, secret);
    expect(text).toBe(await direct({ stream_options: { include_usage: true } }));
    expect(text).toContain('"usage":{"prompt_tokens":5,"completion_tokens":3');
  });
});

describe("GET /admin/usage: every request metered", () => {
  it("records what the upstream reported, priced, per subject, model and day", async () => {
    const { id, secret } = await createKey();
    const upstream = openaiScenario("usage-7-3");
    expect((await chatWith(secret, hello, { OPENAI_BASE_URL: upstream.baseUrl })).status).toBe(200);
    await eventually(async () => {
      const rows = await usageRows(`${aroundNow()}&group_by=subject`);
      // gpt-4o-mini: $0.15 and $0.60 per million tokens → 7 × 0.15 + 3 × 0.6 = 2.85 µ$, rounded up.
      expect(rows.find((row) => row.subject === `key:${id}`)).toEqual({
        subject: `key:${id}`,
        requests: 1,
        prompt_tokens: 7,
        completion_tokens: 3,
        cost_usd: 0.000003,
        unpriced_requests: 0,
        estimated_requests: 0,
      });
    });
  });

  it("adds up 1,000 mixed requests to exactly what the upstream reported", async () => {
    const { id, secret } = await createKey({ monthly_token_budget: 100_000_000 });
    const plain = openaiScenario("usage-11-4");
    const streams = openaiScenario("drip-2-1");
    const expected = { requests: 0, prompt_tokens: 0, completion_tokens: 0 };
    const send = async (i: number) => {
      const stream = i % 4 === 0;
      const response = await chatWith(
        secret,
        { ...hello, ...(stream ? { stream: true } : {}) },
        { OPENAI_BASE_URL: (stream ? streams : plain).baseUrl },
      );
      expect(response.status).toBe(200);
      await response.text();
      expected.requests += 1;
      expected.prompt_tokens += stream ? 5 : 11;
      expected.completion_tokens += stream ? 2 : 4;
    };
    for (let batch = 0; batch < 20; batch++)
      await Promise.all(Array.from({ length: 50 }, (_, i) => send(batch * 50 + i)));
    await eventually(async () => {
      const rows = await usageRows(`${aroundNow()}&group_by=subject`);
      expect(rows.find((row) => row.subject === `key:${id}`)).toMatchObject(expected);
    }, 10_000);
  }, 60_000);

  it("meters RELAY_SECRET as the subject relay-secret", async () => {
    const before = (await usageRows(`${aroundNow()}&group_by=subject`)).find((r) => r.subject === "relay-secret");
    const upstream = openaiScenario("usage-2-2");
    expect((await chatWith(RELAY_SECRET, hello, { OPENAI_BASE_URL: upstream.baseUrl })).status).toBe(200);
    await eventually(async () => {
      const after = (await usageRows(`${aroundNow()}&group_by=subject`)).find((r) => r.subject === "relay-secret");
      expect(Number(after?.requests)).toBeGreaterThan(Number(before?.requests ?? 0));
    });
  });
});

describe("GET /v1/models", () => {
  it("lists what the caller may use, in OpenAI's shape", async () => {
    const models = async (credential: string, vars?: Record<string, string>) => {
      const response = await relay(
        "/v1/models",
        { headers: { Authorization: `Bearer ${credential}`, "CF-Connecting-IP": uniqueIp() } },
        vars,
      );
      return {
        status: response.status,
        body: (await response.json()) as { object: string; data: Array<{ id: string }> },
      };
    };
    const allowed = { ALLOWED_MODELS: "gpt-4o-mini,gpt-4o" };
    const relaySecret = await models(RELAY_SECRET, allowed);
    expect(relaySecret.body).toEqual({
      object: "list",
      data: [
        { id: "gpt-4o-mini", object: "model", created: 0, owned_by: "openai" },
        { id: "gpt-4o", object: "model", created: 0, owned_by: "openai" },
      ],
    });
    const { secret } = await createKey({ models: ["gpt-4o", "o3"] });
    expect((await models(secret, allowed)).body.data.map((m) => m.id)).toEqual(["gpt-4o"]);
    expect((await models(RELAY_SECRET)).body.data.map((m) => m.id)).toContain("gpt-4.1-mini");
    expect((await models("smr_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).status).toBe(401);
  });
});

describe("chat with a user token (CHAT_USER_JWT=true)", () => {
  const vars = (extra: Record<string, string> = {}) => ({
    CHAT_USER_JWT: "true",
    TIER_TOKEN_BUDGETS: "monthly=500000,yearly=600000",
    ...extra,
  });

  it("admits a subscriber, metered as the user, within their tier's token budget", async () => {
    const user = uniqueId("chatter");
    expect((await grant({ user_id: user, type: "subscription", tier: "monthly", expires_at: FAR })).status).toBe(200);
    const upstream = openaiScenario("usage-3-4");
    const response = await chatWith(await userJwt(user), hello, vars({ OPENAI_BASE_URL: upstream.baseUrl }));
    expect(response.status).toBe(200);
    await eventually(async () => expect((await meterOf(`user:${user}`))?.committed.tokens).toBe(7));
  });

  it("answers 402 with the billing links to a user without an active subscription", async () => {
    const user = uniqueId("stranger");
    const response = await chatWith(await userJwt(user), hello, vars());
    expect(response.status).toBe(402);
    expect(await response.json()).toMatchObject({
      error: {
        code: "payment_required",
        message: "An active subscription is required to chat",
        type: "permission_error",
        param: null,
      },
      billing_links: [
        { tier: "monthly", payment_link: `https://pay.test/monthly?client_reference_id=${user}` },
        {},
        {},
      ],
      store_link: null,
    });
  });

  it("refuses a subscriber over the tier's budget with 429 budget_exceeded", async () => {
    const user = uniqueId("heavy");
    await grant({ user_id: user, type: "subscription", tier: "monthly", expires_at: FAR });
    // Its prompt alone (an upper bound: a token per byte of the messages) is more than the 100 tokens.
    const response = await chatWith(
      await userJwt(user),
      { messages: [{ role: "user", content: "Hello ".repeat(20) }] },
      vars({ TIER_TOKEN_BUDGETS: "monthly=100" }),
    );
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual(openaiError("budget_exceeded"));
  });

  it("treats a user token as a wrong relay secret while CHAT_USER_JWT is off", async () => {
    expect((await chatWith(await userJwt(uniqueId("u")), hello)).status).toBe(401);
  });
});

describe("RATE_LIMIT_QUEUE_MS: a short burst waits for its slot instead of being refused", () => {
  it("holds the request over the limit by less than the queue, and refuses the one over it", async () => {
    // 30 a minute: a slot every 2 s. After a burst of 30, the 31st waits up to 2 s (within the 2.5 s queue);
    // the 32nd would wait about 4 s, more than the queue allows.
    const ip = uniqueIp();
    const vars = { RATE_LIMIT_REQUESTS: "30", RATE_LIMIT_QUEUE_MS: "2500" };
    const send = () => chatWith(RELAY_SECRET, hello, vars, { "CF-Connecting-IP": ip });
    const burst = await Promise.all(Array.from({ length: 30 }, send));
    expect(burst.every((r) => r.status === 200)).toBe(true);
    const started = Date.now();
    const [queued, over] = await Promise.all([send(), new Promise((r) => setTimeout(r, 50)).then(send)]);
    expect(queued?.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(over?.status).toBe(429);
  });
});
