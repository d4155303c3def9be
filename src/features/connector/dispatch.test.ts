import { describe, expect, it } from "vitest";
import { GITHUB_TOKEN } from "../../../test/secrets";
import { postConnector } from "../../../test/support/connector";
import { auditRowsOf, captureLogs, errorBody, uniqueIp } from "../../../test/support/relay";

const PATH = "/chatgpt/dispatch";
const valid = { owner: "octo", repo: "hivemind", client_payload: { task: "write docs", priority: 2 } };

describe("POST /chatgpt/dispatch", () => {
  it("sends a repository_dispatch with the first DISPATCH_EVENT_TYPES entry and audits it", async () => {
    const { response, json, received } = await postConnector(PATH, valid);
    expect(response.status).toBe(200);
    expect(json).toEqual({
      success: true,
      dispatched: true,
      repository: "octo/hivemind",
      event_type: "hivemind-task",
      request_id: response.headers.get("X-Request-Id"),
    });
    expect(response.headers.get("RateLimit")).toMatch(/^"connector";r=\d+;t=\d+$/);
    const requests = await received();
    expect(requests.map(({ method, path, query, body }) => ({ method, path, query, body }))).toEqual([
      {
        method: "POST",
        path: "/repos/octo/hivemind/dispatches",
        query: {},
        body: { event_type: "hivemind-task", client_payload: { task: "write docs", priority: 2 } },
      },
    ]);
    expect(requests[0]?.headers).toMatchObject({
      accept: "application/vnd.github+json",
      "x-github-api-version": "2022-11-28",
      authorization: `Bearer ${GITHUB_TOKEN}`,
    });
    expect(await auditRowsOf(response)).toEqual([
      { actor: "chatgpt", action: "dispatch", target: "octo/hivemind", outcome: "ok", dry_run: 0 },
    ]);
  });

  it("sends a listed event_type and omits an absent client_payload", async () => {
    const { response, received } = await postConnector(
      PATH,
      { owner: "Octo-Org", repo: "anything", event_type: "review" },
      { vars: { DISPATCH_EVENT_TYPES: "hivemind-task, review" } },
    );
    expect(response.status).toBe(200);
    expect((await received()).map(({ path, body }) => ({ path, body }))).toEqual([
      { path: "/repos/Octo-Org/anything/dispatches", body: { event_type: "review" } },
    ]);
  });

  it("refuses an event_type outside DISPATCH_EVENT_TYPES with 400, sends nothing and audits the refusal", async () => {
    const { response, json, received } = await postConnector(PATH, { ...valid, event_type: "deploy" });
    expect(response.status).toBe(400);
    expect(json).toEqual(errorBody("event_type_not_allowed", "event_type: must be one of hivemind-task"));
    expect(await received()).toEqual([]);
    expect(await auditRowsOf(response)).toEqual([
      {
        actor: "chatgpt",
        action: "dispatch",
        target: "octo/hivemind",
        outcome: "refused:event_type_not_allowed",
        dry_run: 0,
      },
    ]);
  });

  it.each([
    ["11 top-level keys", Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i])), "top-level keys"],
    ["64 KB", { blob: "x".repeat(64 * 1024) }, "smaller than 65536 bytes"],
    ["an array", [1, 2], "client_payload"],
  ])("refuses a client_payload of %s with 400 naming it", async (_, payload, fragment) => {
    const { response, json, received } = await postConnector(PATH, { ...valid, client_payload: payload });
    expect(response.status).toBe(400);
    expect(json).toEqual(errorBody("invalid_request"));
    expect((json.error as { message: string }).message).toMatch(/^client_payload: /);
    expect((json.error as { message: string }).message).toContain(fragment);
    expect(await received()).toEqual([]);
  });

  it("accepts exactly 10 top-level keys (GitHub's limit)", async () => {
    const payload = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]));
    const { response } = await postConnector(PATH, { ...valid, client_payload: payload });
    expect(response.status).toBe(200);
  });

  it("refuses a repository outside ALLOWED_REPOS with 403 before any GitHub call", async () => {
    const { response, json, received } = await postConnector(PATH, { ...valid, owner: "evil" });
    expect(response.status).toBe(403);
    expect(json).toEqual(errorBody("repository_not_allowed", "evil/hivemind is not in ALLOWED_REPOS"));
    expect(await received()).toEqual([]);
    expect(await auditRowsOf(response)).toEqual([
      {
        actor: "chatgpt",
        action: "dispatch",
        target: "evil/hivemind",
        outcome: "refused:repository_not_allowed",
        dry_run: 0,
      },
    ]);
  });

  it("answers 503 naming ALLOWED_REPOS when it is unset, and sends nothing", async () => {
    const { response, json, received } = await postConnector(PATH, valid, { vars: { ALLOWED_REPOS: "" } });
    expect(response.status).toBe(503);
    expect(json).toEqual(errorBody("not_configured", "The relay is not configured: ALLOWED_REPOS is not set"));
    expect(await received()).toEqual([]);
  });

  it("answers 503 for a malformed ALLOWED_REPOS entry", async () => {
    const { response, json } = await postConnector(PATH, valid, { vars: { ALLOWED_REPOS: "octo/hivemind, *" } });
    expect(response.status).toBe(503);
    expect(json).toEqual(errorBody("not_configured", "The relay is not configured: ALLOWED_REPOS is invalid"));
  });

  it("answers 503 naming GITHUB_TOKEN when it is unset", async () => {
    const { response, json } = await postConnector(PATH, valid, { vars: { GITHUB_TOKEN: undefined } });
    expect(response.status).toBe(503);
    expect(json).toEqual(errorBody("not_configured", "The relay is not configured: GITHUB_TOKEN is not set"));
  });

  it("never writes the GitHub token or the bearer token into logs or bodies", async () => {
    const { result, logs } = await captureLogs(() => postConnector(PATH, valid, { behaviour: "echo-token" }));
    expect(result.response.status).toBe(502);
    expect(JSON.stringify(result.json)).not.toContain(GITHUB_TOKEN);
    expect(logs).not.toContain(GITHUB_TOKEN);
    expect(logs).not.toContain("test-chatgpt-token");
    expect(logs).toContain('"route":"/chatgpt/dispatch"');
  });

  it("limits per token before auth: the third request in a minute gets 429 with Retry-After", async () => {
    const token = `t-${uniqueIp()}`;
    const vars = { CONNECTOR_RATE_LIMIT: "2", CHATGPT_BEARER_TOKEN: token };
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i++) {
      // A different IP each time: the bucket is the token's.
      const { response } = await postConnector(PATH, valid, { token, vars, ip: uniqueIp() });
      statuses.push(response.status);
      last = response;
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last?.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(last?.headers.get("RateLimit-Policy")).toBe('"connector";q=2;w=60');
  });

  it("counts wrong tokens against the IP, so a new guess each time is limited too", async () => {
    const vars = { CONNECTOR_RATE_LIMIT: "2" };
    const ip = uniqueIp();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { response } = await postConnector(PATH, valid, { token: `guess-${i}`, vars, ip });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 429]);
  });
});
