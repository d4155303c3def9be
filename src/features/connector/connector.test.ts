import { describe, expect, it } from "vitest";
import { postConnector } from "../../../test/support/connector";
import { auditRowsOf, errorBody } from "../../../test/support/relay";

/** One valid body per route, and its audit action (the list is read-only and not audited). */
const routes = [
  { path: "/chatgpt/dispatch", body: { owner: "octo", repo: "hivemind" }, action: "dispatch" },
  { path: "/chatgpt/prs/list", body: { owner: "octo", repo: "hivemind" }, action: null },
  {
    path: "/chatgpt/prs/comment",
    body: { owner: "octo", repo: "hivemind", pull_number: 5, body: "Looks good" },
    action: "comment",
  },
  {
    path: "/chatgpt/prs/label",
    body: { owner: "octo", repo: "hivemind", pull_number: 5, labels: ["kora"] },
    action: "label",
  },
];

describe.each(routes)("POST $path", ({ path, body, action }) => {
  it.each([
    ["no token", null],
    ["a wrong token", "wrong-token"],
    ["the relay secret instead", "test-relay-secret"],
  ])("answers 401 with %s and sends nothing", async (_, token) => {
    const { response, json, received } = await postConnector(path, body, { token });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="relay"');
    expect(json).toEqual(errorBody("unauthorized"));
    expect(await received()).toEqual([]);
    const audit = action
      ? [{ actor: "chatgpt", action, target: "unknown", outcome: "refused:unauthorized", dry_run: 0 }]
      : [];
    expect(await auditRowsOf(response)).toEqual(audit);
  });

  it("answers 403 for a foreign repository and sends nothing", async () => {
    const { response, json, received } = await postConnector(path, { ...body, owner: "someone-else" });
    expect(response.status).toBe(403);
    expect(json).toEqual(errorBody("repository_not_allowed", "someone-else/hivemind is not in ALLOWED_REPOS"));
    expect(await received()).toEqual([]);
  });

  it.each([
    ["owner", { owner: "a/b" }],
    ["owner", { owner: "" }],
    ["repo", { repo: ".." }],
    ["repo", { repo: "hive/../../x" }],
    ["repo", { repo: undefined }],
    ["unexpected", { unexpected: true }],
  ])("answers 400 naming %s for an invalid one and sends nothing", async (field, change) => {
    const { response, json, received } = await postConnector(path, { ...body, ...change });
    expect(response.status).toBe(400);
    expect(json).toEqual(errorBody("invalid_request"));
    expect((json.error as { message: string }).message).toMatch(new RegExp(`^${field}: `));
    expect(await received()).toEqual([]);
  });

  it("answers 415 for a body that is not JSON and 400 invalid_json for broken JSON", async () => {
    const broken = await postConnector(path, "{not json");
    expect([broken.response.status, broken.json]).toEqual([400, errorBody("invalid_json")]);
    expect(await broken.received()).toEqual([]);
  });

  // docs/api.md, "Kora connector": rate limits → 429 with Retry-After; 5xx/unreachable → 502; other → 502.
  // A dispatch is queued instead when GitHub fails for a while (src/features/dispatches/queue.test.ts).
  const permanent = [
    ["status-404", 502, "upstream_error", "GitHub answered 404: Not Found", null],
    ["status-422", 502, "upstream_error", "GitHub answered 422: Validation Failed", null],
  ] as const;
  const transient = [
    ["secondary", 429, "upstream_rate_limited", "GitHub is rate limiting the relay; retry in 30 s", "30"],
    ["status-500", 502, "upstream_unreachable", "GitHub failed with status 500", null],
    ["hang", 504, "upstream_timeout", "GitHub did not answer within 300 ms", null],
    ["ratelimit", 429, "upstream_rate_limited", undefined, undefined],
  ] as const;
  it.each(action === "dispatch" ? permanent : [...permanent, ...transient])(
    "maps GitHub's %s to %i %s",
    async (behaviour, status, code, message, retryAfter) => {
      const { response, json, received } = await postConnector(path, body, { behaviour });
      expect(response.status).toBe(status);
      expect(json).toEqual(errorBody(code, message));
      if (retryAfter !== undefined) expect(response.headers.get("Retry-After")).toBe(retryAfter);
      // The primary limit waits until x-ratelimit-reset, 120 s after the stand-in's answer.
      else expect(Number(response.headers.get("Retry-After"))).toBeGreaterThanOrEqual(118);
      expect(await received()).toHaveLength(1);
      const audit = action ? [{ actor: "chatgpt", action, outcome: expect.stringMatching(`:${code}$`) }] : [];
      expect(await auditRowsOf(response)).toMatchObject(audit);
    },
  );
});
