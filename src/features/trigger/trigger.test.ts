import { describe, expect, it } from "vitest";
import { GITHUB_TOKEN, RELAY_SECRET } from "../../../test/secrets";
import { auditRowsOf, captureLogs, errorBody, githubScenario, relay, uniqueIp } from "../../../test/support/relay";

type Options = { token?: string | null; behaviour?: string; vars?: Record<string, string | undefined>; ip?: string };

async function trigger(body: unknown, options: Options = {}) {
  const scenario = githubScenario(options.behaviour ?? "ok");
  const token = options.token === undefined ? RELAY_SECRET : options.token;
  const response = await relay(
    "/trigger-hive",
    {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "CF-Connecting-IP": options.ip ?? uniqueIp(),
        ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    },
    { GITHUB_API_URL: scenario.apiUrl, GITHUB_TIMEOUT_MS: "300", ...options.vars },
  );
  return { response, json: (await response.json()) as Record<string, unknown>, received: () => scenario.received() };
}

const refused = (outcome: string, target = "octo/hive") => [
  { actor: "operator", action: "trigger", target, outcome, dry_run: 0 },
];

describe("POST /trigger-hive", () => {
  it("sends HIVE_EVENT_TYPE to HIVE_REPOSITORY with action, payload and request id, and audits it", async () => {
    const { response, json, received } = await trigger({ action: "execute", payload: { issue: 42 } });
    const requestId = response.headers.get("X-Request-Id");
    expect(response.status).toBe(200);
    expect(json).toEqual({ success: true, dispatched: true, request_id: requestId });
    const requests = await received();
    expect(requests.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      {
        method: "POST",
        path: "/repos/octo/hive/dispatches",
        body: {
          event_type: "hivemind-foreman",
          client_payload: { action: "execute", payload: { issue: 42 }, request_id: requestId },
        },
      },
    ]);
    expect(requests[0]?.headers.authorization).toBe(`Bearer ${GITHUB_TOKEN}`);
    expect(await auditRowsOf(response)).toEqual(refused("ok", "octo/hive:execute"));
  });

  it("answers a dry run with exactly what would be sent, sends nothing and audits it as a dry run", async () => {
    const { response, json, received } = await trigger(
      { action: "plan", dry_run: true },
      { vars: { HIVE_EVENT_TYPE: "foreman-x", HIVE_REPOSITORY: "acme/ops" } },
    );
    expect(response.status).toBe(200);
    expect(json).toEqual({
      success: true,
      dry_run: true,
      route: "HIVE_REPOSITORY",
      would_dispatch: {
        repository: "acme/ops",
        event_type: "foreman-x",
        client_payload: { action: "plan", payload: {}, request_id: response.headers.get("X-Request-Id") },
      },
    });
    expect(await received()).toEqual([]);
    expect(await auditRowsOf(response)).toEqual([
      { actor: "operator", action: "trigger", target: "acme/ops:plan", outcome: "dry_run", dry_run: 1 },
    ]);
  });

  it("refuses an action outside HIVE_ACTIONS with 400, sends nothing and audits the refusal", async () => {
    const { response, json, received } = await trigger({ action: "deploy" }, { vars: { HIVE_ACTIONS: "execute" } });
    expect(response.status).toBe(400);
    expect(json).toEqual(errorBody("action_not_allowed", "action: must be one of execute"));
    expect(await received()).toEqual([]);
    expect(await auditRowsOf(response)).toEqual(refused("refused:action_not_allowed"));
  });

  it.each([
    ["action", {}],
    ["action", { action: "" }],
    ["dry_run", { action: "plan", dry_run: "yes" }],
    ["payload", { action: "plan", payload: "text" }],
    ["payload", { action: "plan", payload: { blob: "x".repeat(64 * 1024) } }],
    ["extra", { action: "plan", extra: 1 }],
  ])("answers 400 naming %s, sends nothing and audits the refusal", async (field, body) => {
    const { response, json, received } = await trigger(body);
    expect(response.status).toBe(400);
    expect(json).toEqual(errorBody("invalid_request"));
    expect((json.error as { message: string }).message).toMatch(new RegExp(`^${field}: `));
    expect(await received()).toEqual([]);
    expect(await auditRowsOf(response)).toEqual(refused("refused:invalid_request"));
  });

  it.each([
    ["no token", null],
    ["a wrong token", "nope"],
    ["the ChatGPT token", "test-chatgpt-token"],
  ])("answers 401 with %s, sends nothing and audits the refusal", async (_, token) => {
    const { response, json, received } = await trigger({ action: "execute" }, { token });
    expect(response.status).toBe(401);
    expect(json).toEqual(errorBody("unauthorized"));
    expect(await received()).toEqual([]);
    expect(await auditRowsOf(response)).toEqual(refused("refused:unauthorized"));
  });

  it("lets IPs and CIDRs of TRIGGER_IP_ALLOWLIST in, IPv4 and IPv6", async () => {
    const vars = { TRIGGER_IP_ALLOWLIST: "198.51.100.7, 10.20.0.0/16, 2001:db8:42::/48" };
    for (const ip of ["198.51.100.7", "10.20.3.4", "2001:db8:42::9"]) {
      const { response } = await trigger({ action: "plan", dry_run: true }, { vars, ip });
      expect(response.status).toBe(200);
    }
  });

  it.each(["198.51.100.8", "10.21.0.1", "2001:db8:43::1"])(
    "refuses %s outside TRIGGER_IP_ALLOWLIST with 403 before auth, and audits it",
    async (ip) => {
      const vars = { TRIGGER_IP_ALLOWLIST: "198.51.100.7, 10.20.0.0/16, 2001:db8:42::/48" };
      const { response, json, received } = await trigger({ action: "execute" }, { vars, ip, token: "wrong" });
      expect(response.status).toBe(403);
      expect(json).toEqual(errorBody("ip_not_allowed", `This IP address (${ip}) is not in TRIGGER_IP_ALLOWLIST`));
      expect(await received()).toEqual([]);
      expect(await auditRowsOf(response)).toEqual(refused("refused:ip_not_allowed"));
    },
  );

  it("answers 503 for a malformed TRIGGER_IP_ALLOWLIST instead of guessing", async () => {
    const { response, json } = await trigger({ action: "plan" }, { vars: { TRIGGER_IP_ALLOWLIST: "10.0.0.0/40" } });
    expect(response.status).toBe(503);
    expect(json).toEqual(errorBody("not_configured", "The relay is not configured: TRIGGER_IP_ALLOWLIST is invalid"));
  });

  it.each([
    ["HIVE_REPOSITORY", { HIVE_REPOSITORY: "" }, "is not set"],
    ["HIVE_REPOSITORY", { HIVE_REPOSITORY: "no-slash" }, "is invalid"],
    ["GITHUB_TOKEN", { GITHUB_TOKEN: undefined }, "is not set"],
    ["RELAY_SECRET", { RELAY_SECRET: undefined }, "is not set"],
  ])("answers 503 naming %s when it is unusable, and sends nothing", async (name, vars, problem) => {
    const { response, json, received } = await trigger({ action: "plan", dry_run: true }, { vars });
    expect(response.status).toBe(503);
    expect(json).toEqual(errorBody("not_configured", `The relay is not configured: ${name} ${problem}`));
    expect(await received()).toEqual([]);
  });

  it("limits per IP before auth: the third attempt in a minute gets 429, audited", async () => {
    const ip = uniqueIp();
    const vars = { TRIGGER_RATE_LIMIT: "2" };
    const first = await trigger({ action: "plan", dry_run: true }, { vars, ip });
    const second = await trigger({ action: "plan", dry_run: true }, { vars, ip, token: "guess" });
    const third = await trigger({ action: "plan", dry_run: true }, { vars, ip });
    expect([first.response.status, second.response.status, third.response.status]).toEqual([200, 401, 429]);
    expect(third.json).toEqual(errorBody("rate_limited"));
    expect(Number(third.response.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(third.response.headers.get("RateLimit-Policy")).toBe('"trigger";q=2;w=60');
    expect(await auditRowsOf(third.response)).toEqual(refused("refused:rate_limited"));
    const other = await trigger({ action: "plan", dry_run: true }, { vars, ip: uniqueIp() });
    expect(other.response.status).toBe(200);
  });

  it("audits a flood of refused requests once per bucket and window, not once each", async () => {
    const ip = uniqueIp();
    const vars = { TRIGGER_RATE_LIMIT: "2" };
    const answers = [];
    for (let i = 0; i < 22; i++)
      answers.push(await trigger({ action: "plan", dry_run: true }, { vars, ip, token: null }));
    expect(answers.map((a) => a.response.status)).toEqual([401, 401, ...Array(20).fill(429)]);
    const rows = await Promise.all(answers.map((a) => auditRowsOf(a.response)));
    expect(rows.map((r) => r.length)).toEqual([1, 1, 1, ...Array(19).fill(0)]);
    expect(rows[2]).toEqual(refused("refused:rate_limited"));
  });

  // docs/api.md, "Kora connector". GitHub's transient failures (5xx, timeout, rate limit) queue the trigger
  // instead: src/features/dispatches/queue.test.ts.
  it.each([
    ["status-404", 502, "upstream_error", "GitHub answered 404: Not Found", null],
    ["status-422", 502, "upstream_error", "GitHub answered 422: Validation Failed", null],
    ["forbidden", 502, "upstream_error", "GitHub answered 403: Resource not accessible by personal access token", null],
  ])("maps GitHub's %s to %i %s and audits the failure", async (behaviour, status, code, message, retryAfter) => {
    const { response, json, received } = await trigger({ action: "execute" }, { behaviour });
    expect(response.status).toBe(status);
    expect(json).toEqual(errorBody(code, message));
    expect(response.headers.get("Retry-After")).toBe(retryAfter);
    expect(await received()).toHaveLength(1);
    const outcome = `failed:${code}`;
    expect(await auditRowsOf(response)).toEqual(refused(outcome, "octo/hive:execute"));
  });

  it("keeps the relay secret and the GitHub token out of logs and bodies", async () => {
    const { result, logs } = await captureLogs(() => trigger({ action: "execute" }, { behaviour: "echo-token" }));
    expect(result.response.status).toBe(502);
    expect(JSON.stringify(result.json)).not.toContain(GITHUB_TOKEN);
    expect(logs).not.toContain(GITHUB_TOKEN);
    expect(logs).not.toContain(RELAY_SECRET);
  });
});

describe("GET /trigger-hive/{request_id}", () => {
  it("shows a trigger to the credential that made it", async () => {
    const { response } = await trigger({ action: "execute", payload: { issue: 1 } });
    const requestId = response.headers.get("X-Request-Id");
    const status = await relay(`/trigger-hive/${requestId}`, {
      headers: { "X-Relay-Secret": RELAY_SECRET, "CF-Connecting-IP": uniqueIp() },
    });
    expect(status.status).toBe(200);
    expect(await status.json()).toEqual({
      success: true,
      request_id: requestId,
      action: "execute",
      repository: "octo/hive",
      status: "dispatched",
      attempts: 1,
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it.each([
    [
      "a malformed id",
      "not-an-id",
      400,
      errorBody("invalid_request", "request_id: must be a request id, as the dispatch answered it"),
    ],
    ["an unknown id", "0d9b7ad4-3c43-4b6e-9a52-1c1c4f1f2a7e", 404, errorBody("dispatch_not_found")],
  ])("answers %s with %i", async (_, id, status, body) => {
    const response = await relay(`/trigger-hive/${id}`, {
      headers: { Authorization: `Bearer ${RELAY_SECRET}`, "CF-Connecting-IP": uniqueIp() },
    });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual(body);
  });

  it("answers 401 without the relay secret", async () => {
    const response = await relay(`/trigger-hive/${crypto.randomUUID()}`, {
      headers: { "CF-Connecting-IP": uniqueIp() },
    });
    expect(response.status).toBe(401);
  });
});
