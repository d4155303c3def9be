import { describe, expect, it } from "vitest";
import { CHATGPT_BEARER_TOKEN, GITHUB_TOKEN, RELAY_SECRET } from "../../test/secrets";
import { type GitHubRequest, githubScenario, relay, uniqueIp } from "../../test/support/relay";
import { RelayError } from "../errors";
import * as github from "./github";

const repository = { owner: "octo", repo: "hivemind" };
const configFor = (apiUrl: string, timeoutMs = 2000): github.GitHubConfig => ({
  GITHUB_API_URL: apiUrl,
  GITHUB_TOKEN,
  GITHUB_TIMEOUT_MS: timeoutMs,
});

/**
 * The seven calls GitHub documents and the relay may make; nothing else (docs/api.md, "Kora connector"): three
 * writes (dispatch, comment, add labels) and four reads (list, search, get a pull request, list its comments).
 */
const ALLOWED = [
  { method: "POST", path: /^\/repos\/[^/]+\/[^/]+\/dispatches$/ },
  { method: "GET", path: /^\/repos\/[^/]+\/[^/]+\/pulls$/ },
  { method: "POST", path: /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/ },
  { method: "POST", path: /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/labels$/ },
  { method: "GET", path: /^\/search\/issues$/ },
  { method: "GET", path: /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+$/ },
  { method: "GET", path: /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/ },
];

async function failureOf(call: Promise<unknown>): Promise<RelayError> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof RelayError)) throw new Error(`expected a RelayError, got ${String(error)}`);
  return error;
}

describe("the GitHub client", () => {
  it("exports exactly the seven allowed calls and nothing that could call anything else", () => {
    const functions = Object.entries(github)
      .filter(([, value]) => typeof value === "function")
      .map(([name]) => name)
      .sort();
    expect(functions).toEqual([
      "addLabels",
      "createIssueComment",
      "dispatchRepositoryEvent",
      "getPullRequest",
      "listIssueComments",
      "listPullRequests",
      "searchPullRequests",
    ]);
  });

  it("searches only the allowed scope: the caller's qualifiers, quotes and operators never reach the query", async () => {
    const scenario = githubScenario();
    const hits = await github.searchPullRequests(
      configFor(scenario.apiUrl),
      'fix "login" repo:evil/secrets OR org:evil -is:pr (bug)',
      ["octo/hivemind", "octo-org/*"],
      20,
    );
    const [request] = await scenario.received();
    expect([request?.method, request?.path, request?.query]).toEqual([
      "GET",
      "/search/issues",
      { q: "fix login bug is:pr repo:octo/hivemind user:octo-org", per_page: "20" },
    ]);
    expect(hits.map((hit) => `${hit.repository}#${hit.number}`)).toEqual([
      "octo/hivemind#1",
      "octo/hivemind#2",
      "octo-org/widgets#7",
    ]);
  });

  it("reads one pull request with its description, and a page of its comments", async () => {
    const scenario = githubScenario();
    const config = configFor(scenario.apiUrl);
    const pull = await github.getPullRequest(config, repository, 4);
    const comments = await github.listIssueComments(config, repository, 4, { per_page: 100, page: 1 });
    expect(pull).toMatchObject({ number: 4, body: "The description of pull request 4.", comments: 3, merged_at: null });
    expect(comments[0]).toEqual({
      id: 401,
      user: "reviewer1",
      body: "Comment 1 on 4",
      created_at: "2026-01-01T00:00:00Z",
      html_url: "https://github.com/octo/hivemind/pull/4#issuecomment-401",
    });
    expect((await scenario.received()).map(({ method, path, query }) => ({ method, path, query }))).toEqual([
      { method: "GET", path: "/repos/octo/hivemind/pulls/4", query: {} },
      { method: "GET", path: "/repos/octo/hivemind/issues/4/comments", query: { per_page: "100", page: "1" } },
    ]);
  });

  it("sends GitHub's headers and the token, and a JSON body on POST", async () => {
    const scenario = githubScenario();
    await github.createIssueComment(configFor(scenario.apiUrl), repository, 7, "hello");
    const [request] = await scenario.received();
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/repos/octo/hivemind/issues/7/comments");
    expect(request?.headers).toMatchObject({
      accept: "application/vnd.github+json",
      "x-github-api-version": "2022-11-28",
      "user-agent": "soul-mirror-relay",
      authorization: `Bearer ${GITHUB_TOKEN}`,
      "content-type": "application/json",
    });
    expect(request?.body).toEqual({ body: "hello" });
  });

  it("reads has_more from the Link header's rel=next", async () => {
    const scenario = githubScenario();
    const config = configFor(scenario.apiUrl);
    const first = await github.listPullRequests(config, repository, { state: "open", per_page: 2, page: 1 });
    const last = await github.listPullRequests(config, repository, { state: "open", per_page: 2, page: 3 });
    expect([first.hasMore, first.pulls.length, last.hasMore, last.pulls.length]).toEqual([true, 2, false, 1]);
  });

  // GitHub REST docs, "Rate limits for the REST API": retry-after wins; else x-ratelimit-reset when remaining is 0.
  it.each([
    ["secondary", 30],
    ["toomany", 17],
  ])("maps the %s rate limit to 429 with Retry-After %i", async (behaviour, seconds) => {
    const scenario = githubScenario(behaviour);
    const error = await failureOf(
      github.dispatchRepositoryEvent(configFor(scenario.apiUrl), repository, { event_type: "x" }),
    );
    expect([error.status, error.code, error.headers["Retry-After"]]).toEqual([
      429,
      "upstream_rate_limited",
      String(seconds),
    ]);
  });

  it("maps the primary rate limit (remaining 0) to 429 with Retry-After until x-ratelimit-reset", async () => {
    const scenario = githubScenario("ratelimit");
    const error = await failureOf(github.addLabels(configFor(scenario.apiUrl), repository, 1, ["a"]));
    expect([error.status, error.code]).toEqual([429, "upstream_rate_limited"]);
    expect(Number(error.headers["Retry-After"])).toBeGreaterThanOrEqual(118);
    expect(Number(error.headers["Retry-After"])).toBeLessThanOrEqual(121);
  });

  it.each([
    ["status-404", 502, "upstream_error", "GitHub answered 404: Not Found"],
    ["status-422", 502, "upstream_error", "GitHub answered 422: Validation Failed"],
    ["status-401", 502, "upstream_error", "GitHub answered 401: Bad credentials"],
    ["forbidden", 502, "upstream_error", "GitHub answered 403: Resource not accessible by personal access token"],
    ["status-500", 502, "upstream_unreachable", "GitHub failed with status 500"],
    ["status-503", 502, "upstream_unreachable", "GitHub failed with status 503"],
    ["reset", 502, "upstream_unreachable", "GitHub could not be reached"],
    ["redirect", 502, "upstream_unreachable", "GitHub answered with a redirect"],
    ["garbage", 502, "upstream_unreachable", "GitHub answered with an unexpected body"],
  ])("maps %s to %i %s", async (behaviour, status, code, message) => {
    const scenario = githubScenario(behaviour);
    const error = await failureOf(github.createIssueComment(configFor(scenario.apiUrl), repository, 3, "hi"));
    expect({ status: error.status, code: error.code, message: error.message }).toEqual({ status, code, message });
  });

  it("maps no answer within GITHUB_TIMEOUT_MS to 504", async () => {
    const scenario = githubScenario("hang");
    const error = await failureOf(
      github.listPullRequests(configFor(scenario.apiUrl, 150), repository, { state: "open", per_page: 1, page: 1 }),
    );
    expect({ status: error.status, code: error.code, message: error.message }).toEqual({
      status: 504,
      code: "upstream_timeout",
      message: "GitHub did not answer within 150 ms",
    });
  });

  it("redacts the token when GitHub's message repeats it", async () => {
    const scenario = githubScenario("echo-token");
    const error = await failureOf(github.addLabels(configFor(scenario.apiUrl), repository, 2, ["x"]));
    expect(error.message).toBe("GitHub answered 422: Invalid request for Bearer [redacted]");
  });

  it.each(["status-500", "reset", "hang", "secondary"])("never retries a POST (%s)", async (behaviour) => {
    const scenario = githubScenario(behaviour);
    await failureOf(github.createIssueComment(configFor(scenario.apiUrl, 150), repository, 4, "once"));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await scenario.received()).toHaveLength(1);
  });
});

describe("every request the relay can make to GitHub", () => {
  it("is one of the seven allowed calls", async () => {
    // One scenario id per behaviour; every route, success and failure paths, drives the relay.
    const behaviours = ["ok", "status-404", "status-422", "ratelimit", "status-500", "redirect"];
    const scenarios = behaviours.map((behaviour) => githubScenario(behaviour));
    const chatgpt = { Authorization: `Bearer ${CHATGPT_BEARER_TOKEN}`, "Content-Type": "application/json" };
    const operator = { Authorization: `Bearer ${RELAY_SECRET}`, "Content-Type": "application/json" };
    const mcp = { ...chatgpt, Accept: "application/json, text/event-stream" };
    const toolCall = (name: string, args: unknown) => ({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name, arguments: args },
    });
    const calls: Array<[string, Record<string, string>, unknown]> = [
      ["/chatgpt/dispatch", chatgpt, { owner: "octo", repo: "hivemind", client_payload: { task: "t" } }],
      ["/chatgpt/prs/list", chatgpt, { owner: "octo-org", repo: "app", state: "all", per_page: 2, page: 2 }],
      ["/chatgpt/prs/comment", chatgpt, { owner: "octo", repo: "hivemind", pull_number: 9, body: "LGTM" }],
      ["/chatgpt/prs/label", chatgpt, { owner: "octo", repo: "hivemind", pull_number: 9, labels: ["kora"] }],
      ["/chatgpt/prs/label", chatgpt, { owner: "evil", repo: "hivemind", pull_number: 9, labels: ["x"] }],
      ["/chatgpt/prs/comment", chatgpt, { owner: "octo", repo: "../../user", pull_number: 1, body: "x" }],
      ["/trigger-hive", operator, { action: "execute", payload: { note: "n" } }],
      ["/trigger-hive", operator, { action: "plan", dry_run: true }],
      ["/mcp", mcp, toolCall("search", { query: "fix repo:evil/x" })],
      ["/mcp", mcp, toolCall("fetch", { id: "octo/hivemind#4" })],
      ["/mcp", mcp, toolCall("fetch", { id: "evil/hivemind#4" })],
      [
        "/mcp",
        mcp,
        toolCall("comment_on_pull_request", { owner: "octo", repo: "hivemind", pull_number: 9, body: "x" }),
      ],
      ["/mcp", mcp, toolCall("trigger_hive", { action: "plan" })],
    ];
    for (const scenario of scenarios) {
      for (const [path, headers, body] of calls) {
        await relay(
          path,
          { method: "POST", headers: { ...headers, "CF-Connecting-IP": uniqueIp() }, body: JSON.stringify(body) },
          { GITHUB_API_URL: scenario.apiUrl },
        );
      }
    }
    const received: GitHubRequest[] = (await Promise.all(scenarios.map((scenario) => scenario.received()))).flat();
    const outside = received.filter(
      (request) => !ALLOWED.some((call) => call.method === request.method && call.path.test(request.path)),
    );
    expect(outside).toEqual([]);
    // Each of the seven calls was exercised: 6 behaviours × 8 requests that reach GitHub, and the comments of
    // the fetched pull request once its first call succeeded ("ok").
    expect(received).toHaveLength(49);
    expect(new Set(received.map((request) => `${request.method} ${request.path}`))).toEqual(
      new Set([
        "POST /repos/octo/hivemind/dispatches",
        "GET /repos/octo-org/app/pulls",
        "POST /repos/octo/hivemind/issues/9/comments",
        "POST /repos/octo/hivemind/issues/9/labels",
        "POST /repos/octo/hive/dispatches",
        "GET /search/issues",
        "GET /repos/octo/hivemind/pulls/4",
        "GET /repos/octo/hivemind/issues/4/comments",
      ]),
    );
  });
});
