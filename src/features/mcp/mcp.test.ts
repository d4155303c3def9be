import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { CHATGPT_BEARER_TOKEN } from "../../../test/secrets";
import {
  envelope,
  mcp2026Session,
  mcpSession,
  postMcp,
  postMcp2026,
  toolError,
  toolResult,
} from "../../../test/support/mcp";
import { issuedTokens } from "../../../test/support/oauth";
import { auditRowsOf, errorBody, githubScenario, relay, uniqueId, uniqueIp } from "../../../test/support/relay";

/** Every revision /mcp serves, newest first: 2026-07-28 (modern.ts), then those of SDK 1.32. */
const SERVED = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"];

/** A JSON-RPC error answer. */
const rpcError = (id: number, code: number, message: string, data?: unknown) => ({
  jsonrpc: "2.0",
  id,
  error: data === undefined ? { code, message } : { code, message, data },
});

const owner = {
  type: "string",
  pattern: "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$",
  description: "Repository owner (user or organisation).",
  example: "octo-org",
};
const repo = {
  type: "string",
  pattern: "^(?!\\.\\.?$)[A-Za-z0-9._-]{1,100}$",
  description: "Repository name.",
  example: "hivemind",
};
const pullNumber = {
  type: "integer",
  exclusiveMinimum: 0,
  maximum: 9007199254740991,
  description: "Pull request number.",
  example: 42,
};
const reads = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true };
const writes = (idempotentHint: boolean) => ({
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint,
  openWorldHint: true,
});
const strict = (properties: Record<string, unknown>, required: string[]) => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});
const freeObject = { type: "object", propertyNames: { type: "string" }, additionalProperties: {} };

/** Kora's icon: an SVG as a data URI, shown by clients without a fetch (MCP 2025-11-25 `icons`). */
const KORA_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="6" fill="#4f46e5"/><path d="M8 6v12m0-6 7-6m-7 6 7 6" fill="none" stroke="#fff" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"/></svg>';
const ICONS = [{ src: `data:image/svg+xml;base64,${btoa(KORA_SVG)}`, mimeType: "image/svg+xml", sizes: ["any"] }];

/**
 * Every tool, exactly as tools/list must show it (the schemas are the REST routes' zod schemas), its title also
 * in its annotations (where 2025-03-26 clients read it), with Kora's icon.
 */
const TOOLS = [
  {
    name: "search",
    title: "Search pull requests",
    description:
      "Searches pull requests of the allowed repositories by text. Returns {results: [{id, title, url}]}; pass an id to fetch for the whole pull request.",
    inputSchema: strict(
      {
        query: {
          type: "string",
          minLength: 1,
          maxLength: 256,
          description: "Words to look for in the title, description and comments of pull requests.",
        },
      },
      ["query"],
    ),
    annotations: reads,
  },
  {
    name: "fetch",
    title: "Fetch a pull request",
    description:
      "Fetches one pull request by the id search returned (owner/repo#number): its description, recent comments and metadata such as state, author, labels and branches.",
    inputSchema: strict(
      {
        id: {
          type: "string",
          pattern: "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\\/(?!\\.\\.?#)[A-Za-z0-9._-]{1,100}#[1-9]\\d{0,14}$",
          description: "A pull request as search returned it: owner/repo#number.",
          example: "octo-org/hivemind#42",
        },
      },
      ["id"],
    ),
    annotations: reads,
  },
  {
    name: "list_pull_requests",
    title: "List pull requests",
    description:
      "Lists pull requests of an allowed repository, trimmed to number, title, state, author, branches, labels, link and times. has_more tells whether another page exists.",
    inputSchema: strict(
      {
        owner,
        repo,
        state: {
          default: "open",
          description: "Which pull requests to list.",
          type: "string",
          enum: ["open", "closed", "all"],
        },
        per_page: { default: 30, description: "Results per page (1-100).", type: "integer", minimum: 1, maximum: 100 },
        page: { default: 1, description: "Page number, starting at 1.", type: "integer", minimum: 1, maximum: 10000 },
      },
      ["owner", "repo"],
    ),
    annotations: reads,
  },
  {
    name: "comment_on_pull_request",
    title: "Comment on a pull request",
    description:
      "Adds a comment (GitHub Markdown) to a pull request of an allowed repository. It never edits or deletes comments.",
    inputSchema: strict(
      {
        owner,
        repo,
        pull_number: pullNumber,
        body: {
          type: "string",
          minLength: 1,
          maxLength: 65536,
          description: "Comment text in GitHub Markdown (1-65536 characters).",
        },
      },
      ["owner", "repo", "pull_number", "body"],
    ),
    annotations: writes(false),
  },
  {
    name: "add_labels",
    title: "Add labels to a pull request",
    description:
      "Adds labels to a pull request of an allowed repository and returns all its labels. Existing labels stay; nothing is removed.",
    inputSchema: strict(
      {
        owner,
        repo,
        pull_number: pullNumber,
        labels: {
          minItems: 1,
          maxItems: 20,
          type: "array",
          items: { type: "string", minLength: 1, maxLength: 50 },
          description: "1-20 label names (at most 50 characters each) to add; existing labels stay.",
        },
      },
      ["owner", "repo", "pull_number", "labels"],
    ),
    annotations: writes(true),
  },
  {
    name: "dispatch_task",
    title: "Dispatch a Hivemind task",
    description:
      "Starts a Hivemind task: sends a repository_dispatch event to an allowed repository, which starts the GitHub Actions workflow listening for that event type.",
    inputSchema: strict(
      {
        owner,
        repo,
        event_type: {
          description: "One of the relay's DISPATCH_EVENT_TYPES; defaults to the first one.",
          type: "string",
          minLength: 1,
          maxLength: 100,
        },
        client_payload: {
          description: "Free-form JSON object handed to the workflow; at most 10 top-level keys, under 64 KB.",
          ...freeObject,
        },
      },
      ["owner", "repo"],
    ),
    annotations: writes(false),
  },
  {
    name: "trigger_hive",
    title: "Trigger the Hivemind foreman",
    description:
      "Starts the Hivemind foreman workflow with an action (such as plan or execute). A dry run by default: it answers what it would send; only dry_run: false dispatches.",
    inputSchema: strict(
      {
        action: {
          type: "string",
          minLength: 1,
          maxLength: 100,
          description: "One of the relay's HIVE_ACTIONS, such as plan or execute.",
        },
        dry_run: { default: true, description: "Only answer what would be sent (default true).", type: "boolean" },
        payload: { description: "Free-form JSON object handed to the workflow, under 64 KB.", ...freeObject },
      },
      ["action"],
    ),
    annotations: writes(false),
  },
].map((tool) => ({ ...tool, annotations: { title: tool.title, ...tool.annotations }, icons: ICONS }));

/** The headers of a raw POST /mcp with CHATGPT_BEARER_TOKEN. */
const MCP_HEADERS = {
  Authorization: `Bearer ${CHATGPT_BEARER_TOKEN}`,
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
};

/** What the GitHub stand-in received, without the headers. */
async function calls(session: { github: { received(): Promise<Array<Record<string, unknown>>> } }) {
  return (await session.github.received()).map(({ method, path, query, body }) => ({ method, path, query, body }));
}

describe("MCP at /mcp: the official client", () => {
  it("initializes statelessly and lists every tool with its schema and annotations, exactly", async () => {
    const session = await mcpSession();
    expect(session.client.getServerVersion()).toEqual({
      name: "kora",
      title: "Kora (Soul Mirror Relay)",
      version: "1.0.0",
      icons: ICONS,
    });
    expect(session.client.getServerCapabilities()).toEqual({ tools: {} });
    const { tools } = await session.client.listTools();
    expect(tools).toEqual(TOOLS);
    expect(tools.filter((tool) => (tool.description ?? "").length > 300)).toEqual([]);
    expect(await calls(session)).toEqual([]);
  });

  it("answers GET and DELETE with 405: no stream, no session", async () => {
    for (const method of ["GET", "DELETE"]) {
      const response = await relay("/mcp", {
        method,
        headers: { Authorization: "Bearer test-chatgpt-token", Accept: "text/event-stream" },
      });
      expect([response.status, response.headers.get("Allow"), await response.json()]).toEqual([
        405,
        "POST",
        errorBody("method_not_allowed", "This route accepts POST"),
      ]);
    }
  });
});

describe("MCP at /mcp: protocol revisions", () => {
  const listCall = { name: "list_pull_requests", arguments: { owner: "octo", repo: "hivemind", per_page: 1 } };

  // ChatGPT's client speaks 2025-06-18: the relay answers in that revision and takes it on every later request.
  it("serves a 2025-06-18 client: it initializes in that revision, lists the tools and calls one", async () => {
    const session = await mcpSession({ announce: "2025-06-18" });
    const { tools } = await session.client.listTools();
    expect(tools.map((tool) => [tool.name, tool.title])).toEqual(TOOLS.map((tool) => [tool.name, tool.title]));
    const result = (await session.client.callTool(listCall)) as CallToolResult;
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toMatchObject({ pull_requests: [{ number: 1 }], has_more: true });
    expect(session.sent).toEqual([
      { method: "initialize", version: null, status: 200 },
      { method: "notifications/initialized", version: "2025-06-18", status: 202 },
      { method: "GET", version: "2025-06-18", status: 405 },
      { method: "tools/list", version: "2025-06-18", status: 200 },
      { method: "tools/call", version: "2025-06-18", status: 200 },
    ]);
  });

  // The official v2 client that negotiates (versionNegotiation "auto") probes with server/discover and, finding
  // 2026-07-28 among the revisions served, stays in it: no initialize.
  it("serves the official v2 client that negotiates: its server/discover probe finds 2026-07-28, and it stays there", async () => {
    const session = await mcp2026Session({ negotiate: true });
    expect(session.client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    const { tools } = await session.client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(TOOLS.map((tool) => tool.name));
    const result = await session.client.callTool(listCall);
    expect(result.structuredContent).toMatchObject({ pull_requests: [{ number: 1 }], has_more: true });
    expect(session.sent).toEqual([
      { method: "server/discover", version: "2026-07-28", status: 200 },
      { method: "tools/list", version: "2026-07-28", status: 200 },
      { method: "tools/call", version: "2026-07-28", status: 200 },
    ]);
  });

  // Streamable HTTP 2025-06-18: "If the server receives a request with an invalid or unsupported
  // MCP-Protocol-Version, it MUST respond with 400 Bad Request"; the body is 2026-07-28's
  // UnsupportedProtocolVersionError, which lists the revisions served.
  it("answers a request in a revision it does not serve with 400 naming the ones it does", async () => {
    const response = await relay("/mcp", {
      method: "POST",
      headers: { ...MCP_HEADERS, "MCP-Protocol-Version": "2024-01-01" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect([response.status, await response.json()]).toEqual([
      400,
      rpcError(1, -32022, "Unsupported protocol version: 2024-01-01", {
        supported: SERVED,
        requested: "2024-01-01",
      }),
    ]);
  });

  it("answers a notification with 202 and no body, and refuses a client that cannot take JSON with 406", async () => {
    const notified = await relay("/mcp", {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    });
    expect([notified.status, await notified.text()]).toEqual([202, ""]);
    const refused = await relay("/mcp", {
      method: "POST",
      headers: { ...MCP_HEADERS, Accept: "text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect([refused.status, await refused.json()]).toEqual([
      406,
      errorBody("not_acceptable", "Accept must list application/json and text/event-stream"),
    ]);
  });
});

/** What every 2026-07-28 result carries besides its own fields: its type and the server's identity. */
const SERVER_INFO = { name: "kora", title: "Kora (Soul Mirror Relay)", version: "1.0.0", icons: ICONS };
const complete = { resultType: "complete", _meta: { "io.modelcontextprotocol/serverInfo": SERVER_INFO } };
const INSTRUCTIONS =
  "Kora reads and talks on the pull requests of the repositories this relay allows, and starts Hivemind tasks. It can never merge, push, delete or close anything.";

// MCP 2026-07-28: no initialize; each request names its revision and the client's capabilities in _meta and mirrors
// its method (and tool name) in headers; results carry resultType, list results ttlMs and cacheScope.
describe("MCP at /mcp: the 2026-07-28 revision", () => {
  const listCall = { name: "list_pull_requests", arguments: { owner: "octo", repo: "hivemind", per_page: 1 } };

  it("serves the official v2 client pinned to 2026-07-28: no initialize, it discovers, lists every tool and calls one", async () => {
    const session = await mcp2026Session();
    expect(session.client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    expect(session.client.getServerVersion()).toEqual(SERVER_INFO);
    expect(session.client.getServerCapabilities()).toEqual({ tools: {} });
    expect(session.client.getInstructions()).toBe(INSTRUCTIONS);
    expect(session.client.getDiscoverResult()?.supportedVersions).toEqual(SERVED);
    const { tools } = await session.client.listTools();
    expect(tools).toEqual(TOOLS);
    const { result, audit } = await session.call(listCall.name, listCall.arguments);
    expect(result.structuredContent).toMatchObject({ pull_requests: [{ number: 1, user: "dev1" }], has_more: true });
    expect(audit).toEqual([]);
    // The tool list is fresh for ttlMs: asked again, the client answers from its cache.
    expect((await session.client.listTools()).tools).toEqual(TOOLS);
    expect(session.sent).toEqual([
      { method: "server/discover", version: "2026-07-28", status: 200 },
      { method: "tools/list", version: "2026-07-28", status: 200 },
      { method: "tools/call", version: "2026-07-28", status: 200 },
    ]);
    expect(await calls(session)).toEqual([
      {
        method: "GET",
        path: "/repos/octo/hivemind/pulls",
        query: { state: "open", per_page: "1", page: "1" },
        body: null,
      },
    ]);
  });

  it("answers server/discover, tools/list and tools/call with the revision's result fields, exactly", async () => {
    const discover = await postMcp2026({ method: "server/discover", params: { _meta: envelope() } });
    expect([discover.status, discover.headers.get("Content-Type"), await discover.json()]).toEqual([
      200,
      "application/json",
      {
        jsonrpc: "2.0",
        id: 7,
        result: {
          supportedVersions: SERVED,
          capabilities: { tools: {} },
          instructions: INSTRUCTIONS,
          ttlMs: 600000,
          cacheScope: "private",
          ...complete,
        },
      },
    ]);
    const list = await postMcp2026({ method: "tools/list", params: { _meta: envelope() } });
    expect([list.status, await list.json()]).toEqual([
      200,
      { jsonrpc: "2.0", id: 7, result: { tools: TOOLS, ttlMs: 600000, cacheScope: "private", ...complete } },
    ]);
    const github = githubScenario("ok");
    const call = await postMcp2026(
      { method: "tools/call", params: { ...listCall, _meta: envelope() } },
      { vars: { GITHUB_API_URL: github.apiUrl } },
    );
    const answer = (await call.json()) as { result: CallToolResult & Record<string, unknown> };
    expect([call.status, answer.result.resultType, answer.result._meta, answer.result.isError]).toEqual([
      200,
      "complete",
      complete._meta,
      undefined,
    ]);
    expect(answer.result).toEqual({ ...toolResult(answer.result.structuredContent ?? {}), ...complete });
    expect(answer.result.structuredContent).toMatchObject({ pull_requests: [{ number: 1 }] });
  });

  it("holds a read-only OAuth token to reads: its write is a tool error, sends nothing and is audited", async () => {
    const { accessToken } = await issuedTokens("read");
    const session = await mcp2026Session({ token: accessToken });
    expect((await session.call("search", { query: "fix" })).result.isError).toBeUndefined();
    const { result, audit } = await session.call("comment_on_pull_request", {
      owner: "octo",
      repo: "hivemind",
      pull_number: 5,
      body: "not allowed",
    });
    expect(result).toEqual({
      ...toolError(
        "insufficient_scope",
        "comment_on_pull_request needs the write scope, which this token does not have",
      ),
      _meta: complete._meta,
    });
    expect((await calls(session)).map((call) => call.path)).toEqual(["/search/issues"]);
    expect(audit).toEqual([
      { actor: "mcp", action: "comment", target: "unknown", outcome: "refused:insufficient_scope", dry_run: 0 },
    ]);
  });

  it("counts one unit of the connector limit per call and audits each write once", async () => {
    const { accessToken } = await issuedTokens("write");
    const session = await mcp2026Session({ token: accessToken, vars: { CONNECTOR_RATE_LIMIT: "3" } });
    const comment = (n: number) => ({ owner: "octo", repo: "hivemind", pull_number: 9, body: `Call ${n}` });
    // server/discover took the first unit; two calls take the others, and the third is refused before it runs.
    for (const n of [1, 2]) {
      const { result, audit } = await session.call("comment_on_pull_request", comment(n));
      expect(result).toEqual({
        ...toolResult({ comment: { id: 1009, html_url: "https://github.com/octo/hivemind/pull/9#issuecomment-1009" } }),
        _meta: complete._meta,
      });
      expect(audit).toEqual([
        { actor: "mcp", action: "comment", target: "octo/hivemind#9", outcome: "ok", dry_run: 0 },
      ]);
    }
    await expect(session.call("comment_on_pull_request", comment(3))).rejects.toThrow(/"code":"rate_limited"/);
    expect(session.sent.map((sent) => [sent.method, sent.status])).toEqual([
      ["server/discover", 200],
      ["tools/call", 200],
      ["tools/call", 200],
      ["tools/call", 429],
    ]);
    expect((await session.github.received()).map((request) => request.body)).toEqual([
      { body: "Call 1" },
      { body: "Call 2" },
    ]);
  });

  const write = {
    name: "comment_on_pull_request",
    arguments: { owner: "octo", repo: "hivemind", pull_number: 3, body: "should not be posted" },
  };
  /** A comment call refused before it runs: its status and body, and that nothing was sent or audited. */
  async function refusedCall(params: Record<string, unknown>, headers: Record<string, string | null>) {
    const github = githubScenario("ok");
    const response = await postMcp2026(
      { method: "tools/call", params: { ...write, ...params } },
      { headers, vars: { GITHUB_API_URL: github.apiUrl } },
    );
    const answer = [response.status, await response.json()];
    expect(await github.received()).toEqual([]);
    expect(await auditRowsOf(response)).toEqual([]);
    return answer;
  }
  const unsupported = (requested: string) =>
    rpcError(7, -32022, `Unsupported protocol version: ${requested}`, { supported: SERVED, requested });
  const metaWithout = (key: string) =>
    Object.fromEntries(Object.entries(envelope()).filter(([name]) => name !== `io.modelcontextprotocol/${key}`));
  const version = (value: string) => ({ "MCP-Protocol-Version": value });

  it.each([
    [
      "no revision in _meta",
      { _meta: metaWithout("protocolVersion") },
      {},
      -32602,
      '_meta["io.modelcontextprotocol/protocolVersion"] must be a string',
    ],
    ["no _meta at all", {}, {}, -32602, "params._meta is required"],
    [
      "no client capabilities in _meta",
      { _meta: metaWithout("clientCapabilities") },
      {},
      -32602,
      '_meta["io.modelcontextprotocol/clientCapabilities"] must be an object',
    ],
    [
      "a client info without a version",
      { _meta: { ...envelope(), "io.modelcontextprotocol/clientInfo": { name: "x" } } },
      {},
      -32602,
      '_meta["io.modelcontextprotocol/clientInfo"] must have a name and a version',
    ],
    [
      "a revision it does not serve in _meta",
      { _meta: envelope("2099-01-01") },
      version("2099-01-01"),
      -32022,
      "2099-01-01",
    ],
    ["no _meta and an MCP-Protocol-Version it does not serve", {}, version("2099-01-01"), -32022, "2099-01-01"],
    ["a legacy revision in _meta", { _meta: envelope("2025-11-25") }, version("2025-11-25"), -32022, "2025-11-25"],
  ])("refuses a tool call with %s, sending and auditing nothing", async (_, params, headers, code, text) => {
    const expected = code === -32022 ? unsupported(text) : rpcError(7, code, text);
    expect(await refusedCall(params, headers)).toEqual([400, expected]);
  });

  // Streamable HTTP 2026-07-28, "Server Validation": a missing or disagreeing standard header is HeaderMismatch.
  it.each([
    [
      "an MCP-Protocol-Version other than _meta's",
      version("2025-11-25"),
      "MCP-Protocol-Version header 2025-11-25 does not match _meta 2026-07-28",
    ],
    ["no MCP-Protocol-Version", { "MCP-Protocol-Version": null }, "MCP-Protocol-Version header is required"],
    ["no Mcp-Method", { "Mcp-Method": null }, "Mcp-Method header (missing) does not match tools/call"],
    [
      "an Mcp-Method other than the body's",
      { "Mcp-Method": "tools/list" },
      "Mcp-Method header tools/list does not match tools/call",
    ],
    ["an Mcp-Name other than the tool called", { "Mcp-Name": "search" }, "Mcp-Name header does not match params.name"],
    [
      "an Mcp-Name that is not valid base64",
      { "Mcp-Name": "=?base64?not base64!?=" },
      "Mcp-Name header does not match params.name",
    ],
    ["no Mcp-Name", { "Mcp-Name": null }, "Mcp-Name header does not match params.name"],
  ])("refuses a tool call with %s header, sending and auditing nothing", async (_, headers, message) => {
    expect(await refusedCall({ _meta: envelope() }, headers)).toEqual([400, rpcError(7, -32020, message)]);
  });

  it.each(["ping", "initialize", "resources/list", "logging/setLevel"])(
    "answers %s, which the revision does not define or /mcp does not serve, with 404 Method not found",
    async (method) => {
      const response = await postMcp2026({ method, params: { _meta: envelope() } });
      expect([response.status, await response.json()]).toEqual([
        404,
        rpcError(7, -32601, `Method not found: ${method}`),
      ]);
    },
  );

  it("takes an Mcp-Name header in the revision's base64 form", async () => {
    const github = githubScenario("ok");
    const response = await postMcp2026(
      { method: "tools/call", params: { ...listCall, _meta: envelope() } },
      { headers: { "Mcp-Name": `=?base64?${btoa("list_pull_requests")}?=` }, vars: { GITHUB_API_URL: github.apiUrl } },
    );
    expect(response.status).toBe(200);
    expect(await github.received()).toHaveLength(1);
  });

  it("answers an unknown tool and invalid params in band, with JSON-RPC Invalid params", async () => {
    const unknown = await postMcp2026({
      method: "tools/call",
      params: { name: "merge_pull_request", arguments: {}, _meta: envelope() },
    });
    expect([unknown.status, await unknown.json()]).toEqual([
      200,
      rpcError(7, -32602, "MCP error -32602: Unknown tool: merge_pull_request"),
    ]);
    const nameless = await postMcp2026({ method: "tools/call", params: { arguments: [], _meta: envelope() } });
    expect([nameless.status, await nameless.json()]).toEqual([
      200,
      rpcError(7, -32602, "Invalid params: tools/call needs params.name (a string) and params.arguments (an object)"),
    ]);
    const cursor = await postMcp2026({ method: "tools/list", params: { cursor: 2, _meta: envelope() } });
    expect([cursor.status, await cursor.json()]).toEqual([
      200,
      rpcError(7, -32602, "Invalid params: params.cursor must be a string"),
    ]);
  });

  it("accepts a 2026-07-28 notification with 202 and no body", async () => {
    const response = await relay("/mcp", {
      method: "POST",
      headers: { ...MCP_HEADERS, "MCP-Protocol-Version": "2026-07-28" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } }),
    });
    expect([response.status, await response.text()]).toEqual([202, ""]);
  });
});

// OpenAI's search and fetch shapes (platform.openai.com/docs/mcp): search → {results: [{id, title, url}]}
// as one text item; fetch → {id, title, text, url, metadata}.
describe("MCP tools: success", () => {
  it("search finds pull requests of the allowed repositories only, in OpenAI's result shape", async () => {
    const session = await mcpSession();
    const { result, audit } = await session.call("search", { query: "fix login repo:evil/secrets" });
    expect(result).toEqual(
      toolResult({
        results: [
          { id: "octo/hivemind#1", title: "Pull request 1", url: "https://github.com/octo/hivemind/pull/1" },
          { id: "octo/hivemind#2", title: "Pull request 2", url: "https://github.com/octo/hivemind/pull/2" },
          { id: "octo-org/widgets#7", title: "Pull request 7", url: "https://github.com/octo-org/widgets/pull/7" },
        ],
      }),
    );
    expect(result.content).toHaveLength(1);
    expect(await calls(session)).toEqual([
      {
        method: "GET",
        path: "/search/issues",
        query: { q: "fix login is:pr repo:octo/hivemind user:octo-org", per_page: "20" },
        body: null,
      },
    ]);
    expect(audit).toEqual([]);
  });

  it("fetch returns one pull request with its description and recent comments, in OpenAI's document shape", async () => {
    const session = await mcpSession();
    const { result } = await session.call("fetch", { id: "octo/hivemind#4" });
    const comment = (n: number) => `## reviewer${n} commented on 2026-01-0${n}T00:00:00Z\n\nComment ${n} on 4`;
    expect(result).toEqual(
      toolResult({
        id: "octo/hivemind#4",
        title: "Pull request 4",
        text: ["# Pull request 4", "The description of pull request 4.", comment(1), comment(2), comment(3)].join(
          "\n\n",
        ),
        url: "https://github.com/octo/hivemind/pull/4",
        metadata: {
          repository: "octo/hivemind",
          number: "4",
          state: "open",
          draft: "true",
          author: "dev4",
          labels: "kora",
          head: "feature-4",
          base: "main",
          comments: "3",
          created_at: "2026-01-01T00:00:00Z",
          updated_at: "2026-01-02T00:00:00Z",
        },
      }),
    );
    expect(await calls(session)).toEqual([
      { method: "GET", path: "/repos/octo/hivemind/pulls/4", query: {}, body: null },
      {
        method: "GET",
        path: "/repos/octo/hivemind/issues/4/comments",
        query: { per_page: "100", page: "1" },
        body: null,
      },
    ]);
  });

  it("list_pull_requests answers what POST /chatgpt/prs/list answers, without success", async () => {
    const session = await mcpSession();
    const { result, audit } = await session.call("list_pull_requests", {
      owner: "octo",
      repo: "hivemind",
      per_page: 1,
    });
    expect(result.structuredContent).toMatchObject({
      pull_requests: [{ number: 1, user: "dev1" }],
      page: 1,
      has_more: true,
    });
    expect(await calls(session)).toEqual([
      {
        method: "GET",
        path: "/repos/octo/hivemind/pulls",
        query: { state: "open", per_page: "1", page: "1" },
        body: null,
      },
    ]);
    expect(audit).toEqual([]);
  });

  it("comment_on_pull_request comments once and is audited with the actor mcp", async () => {
    const session = await mcpSession();
    const { result, audit } = await session.call("comment_on_pull_request", {
      owner: "octo",
      repo: "hivemind",
      pull_number: 12,
      body: "From Claude",
    });
    expect(result).toEqual(
      toolResult({ comment: { id: 1012, html_url: "https://github.com/octo/hivemind/pull/12#issuecomment-1012" } }),
    );
    expect(await calls(session)).toEqual([
      { method: "POST", path: "/repos/octo/hivemind/issues/12/comments", query: {}, body: { body: "From Claude" } },
    ]);
    expect(audit).toEqual([{ actor: "mcp", action: "comment", target: "octo/hivemind#12", outcome: "ok", dry_run: 0 }]);
  });

  it("add_labels adds (POST, never PUT) and is audited", async () => {
    const session = await mcpSession();
    const { result, audit } = await session.call("add_labels", {
      owner: "octo",
      repo: "hivemind",
      pull_number: 8,
      labels: ["kora"],
    });
    expect(result).toEqual(toolResult({ labels: ["needs-review", "kora"] }));
    expect(await calls(session)).toEqual([
      { method: "POST", path: "/repos/octo/hivemind/issues/8/labels", query: {}, body: { labels: ["kora"] } },
    ]);
    expect(audit).toEqual([{ actor: "mcp", action: "label", target: "octo/hivemind#8", outcome: "ok", dry_run: 0 }]);
  });

  it("dispatch_task sends one repository_dispatch and is audited", async () => {
    const session = await mcpSession();
    const { result, audit } = await session.call("dispatch_task", {
      owner: "octo",
      repo: "hivemind",
      client_payload: { task: "write docs" },
    });
    expect(result).toEqual(
      toolResult({
        dispatched: true,
        repository: "octo/hivemind",
        event_type: "hivemind-task",
        request_id: session.requestIds.at(-1),
      }),
    );
    expect(await calls(session)).toEqual([
      {
        method: "POST",
        path: "/repos/octo/hivemind/dispatches",
        query: {},
        body: { event_type: "hivemind-task", client_payload: { task: "write docs" } },
      },
    ]);
    expect(audit).toEqual([{ actor: "mcp", action: "dispatch", target: "octo/hivemind", outcome: "ok", dry_run: 0 }]);
  });

  it("trigger_hive is a dry run unless dry_run is false, and both are audited", async () => {
    const session = await mcpSession();
    const dry = await session.call("trigger_hive", { action: "plan", payload: { issue: 42 } });
    const requestId = session.requestIds.at(-1);
    expect(dry.result).toEqual(
      toolResult({
        dry_run: true,
        route: "HIVE_REPOSITORY",
        would_dispatch: {
          repository: "octo/hive",
          event_type: "hivemind-foreman",
          client_payload: { action: "plan", payload: { issue: 42 }, request_id: requestId },
        },
      }),
    );
    expect(dry.audit).toEqual([
      { actor: "mcp", action: "trigger", target: "octo/hive:plan", outcome: "dry_run", dry_run: 1 },
    ]);
    expect(await calls(session)).toEqual([]);

    const real = await session.call("trigger_hive", { action: "execute", dry_run: false });
    expect(real.result).toEqual(toolResult({ dispatched: true, request_id: session.requestIds.at(-1) }));
    expect(await calls(session)).toEqual([
      {
        method: "POST",
        path: "/repos/octo/hive/dispatches",
        query: {},
        body: {
          event_type: "hivemind-foreman",
          client_payload: { action: "execute", payload: {}, request_id: session.requestIds.at(-1) },
        },
      },
    ]);
    expect(real.audit).toEqual([
      { actor: "mcp", action: "trigger", target: "octo/hive:execute", outcome: "ok", dry_run: 0 },
    ]);
  });
});

describe("MCP tools: refusals are tool errors with the REST route's code and message", () => {
  it.each([
    [
      "a foreign repository",
      "comment_on_pull_request",
      { owner: "octo", repo: "x", pull_number: 1, body: "hi" },
      toolError("repository_not_allowed", "octo/x is not in ALLOWED_REPOS"),
      { target: "octo/x#1", outcome: "refused:repository_not_allowed" },
    ],
    [
      "an invalid field",
      "add_labels",
      { owner: "octo", repo: "hivemind", pull_number: 0, labels: ["x"] },
      toolError("invalid_request", "pull_number: Too small: expected number to be >0"),
      { target: "unknown", outcome: "refused:invalid_request" },
    ],
    [
      "an unknown field",
      "dispatch_task",
      { owner: "octo", repo: "hivemind", force: true },
      toolError("invalid_request", "force: is not a field this route accepts"),
      { target: "unknown", outcome: "refused:invalid_request" },
    ],
    [
      "an event type outside DISPATCH_EVENT_TYPES",
      "dispatch_task",
      { owner: "octo", repo: "hivemind", event_type: "deploy" },
      toolError("event_type_not_allowed", "event_type: must be one of hivemind-task"),
      { target: "octo/hivemind", outcome: "refused:event_type_not_allowed" },
    ],
    [
      "an action outside HIVE_ACTIONS",
      "trigger_hive",
      { action: "destroy", dry_run: false },
      toolError("action_not_allowed", "action: must be one of execute, plan"),
      { target: "octo/hive", outcome: "refused:action_not_allowed" },
    ],
  ])("refuses %s, sends nothing and audits the refusal", async (_, name, args, expected, row) => {
    const session = await mcpSession();
    const { result, audit } = await session.call(name, args);
    expect(result).toEqual(expected);
    expect(await calls(session)).toEqual([]);
    expect(audit).toMatchObject([{ actor: "mcp", dry_run: 0, ...row }]);
  });

  it.each([
    [
      "a fetch id of a foreign repository",
      "fetch",
      { id: "evil/hivemind#4" },
      "repository_not_allowed",
      "evil/hivemind is not in ALLOWED_REPOS",
    ],
    [
      "a malformed fetch id",
      "fetch",
      { id: "octo/hivemind" },
      "invalid_request",
      "id: must be owner/repo#number, as search returned it",
    ],
    [
      "a search without a query",
      "search",
      {},
      "invalid_request",
      "query: Invalid input: expected string, received undefined",
    ],
  ])("refuses %s before any GitHub call", async (_, name, args, code, message) => {
    const session = await mcpSession();
    expect((await session.call(name, args)).result).toEqual(toolError(code, message));
    expect(await calls(session)).toEqual([]);
  });

  it.each([
    ["status-404", "upstream_error", "GitHub answered 404: Not Found"],
    ["status-500", "upstream_unreachable", "GitHub failed with status 500"],
    ["hang", "upstream_timeout", "GitHub did not answer within 300 ms"],
    ["secondary", "upstream_rate_limited", "GitHub is rate limiting the relay; retry in 30 s"],
  ])("turns GitHub's %s into %s after one call, audited as failed", async (behaviour, code, message) => {
    const session = await mcpSession({ behaviour });
    const { result, audit } = await session.call("comment_on_pull_request", {
      owner: "octo",
      repo: "hivemind",
      pull_number: 3,
      body: "once",
    });
    expect(result).toEqual(toolError(code, message));
    expect(await session.github.received()).toHaveLength(1);
    expect(audit).toEqual([
      { actor: "mcp", action: "comment", target: "octo/hivemind#3", outcome: `failed:${code}`, dry_run: 0 },
    ]);
  });

  it("answers an unknown tool with a JSON-RPC error, not a crash", async () => {
    const session = await mcpSession();
    await expect(session.client.callTool({ name: "merge_pull_request", arguments: {} })).rejects.toThrow(
      "Unknown tool: merge_pull_request",
    );
    expect(await calls(session)).toEqual([]);
  });

  it("refuses trigger_hive from an IP outside TRIGGER_IP_ALLOWLIST", async () => {
    const session = await mcpSession({ vars: { TRIGGER_IP_ALLOWLIST: "192.0.2.1" }, ip: "10.1.2.3" });
    const { result, audit } = await session.call("trigger_hive", { action: "plan" });
    expect(result).toEqual(toolError("ip_not_allowed", "This IP address (10.1.2.3) is not in TRIGGER_IP_ALLOWLIST"));
    expect(audit).toEqual([
      { actor: "mcp", action: "trigger", target: "octo/hive", outcome: "refused:ip_not_allowed", dry_run: 0 },
    ]);
  });
});

describe("MCP with OAuth access tokens", () => {
  it("lets a read-only token read, and refuses its write tool calls with insufficient_scope, sending nothing", async () => {
    const { accessToken } = await issuedTokens("read");
    const session = await mcpSession({ token: accessToken });
    expect((await session.call("search", { query: "fix" })).result.isError).toBeUndefined();
    const { result, audit } = await session.call("dispatch_task", { owner: "octo", repo: "hivemind" });
    expect(result).toEqual(
      toolError("insufficient_scope", "dispatch_task needs the write scope, which this token does not have"),
    );
    expect((await calls(session)).map((call) => call.path)).toEqual(["/search/issues"]);
    expect(audit).toEqual([
      { actor: "mcp", action: "dispatch", target: "unknown", outcome: "refused:insufficient_scope", dry_run: 0 },
    ]);
  });

  it("lets a read and write token write", async () => {
    const { accessToken } = await issuedTokens("write");
    const session = await mcpSession({ token: accessToken });
    const { result } = await session.call("add_labels", {
      owner: "octo",
      repo: "hivemind",
      pull_number: 2,
      labels: ["a"],
    });
    expect(result).toEqual(toolResult({ labels: ["needs-review", "a"] }));
  });

  it("never takes ADMIN_TOKEN or RELAY_SECRET", async () => {
    for (const token of ["test-admin-token", "test-relay-secret"]) {
      await expect(mcpSession({ token })).rejects.toThrow(/"code":"unauthorized"/);
    }
  });
});

/** A tools/call of comment_on_pull_request, as one JSON-RPC message. */
const commentCall = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: {
    name: "comment_on_pull_request",
    arguments: { owner: "octo", repo: "hivemind", pull_number: 7, body: `Call ${id}` },
  },
});

describe("MCP rate limit: the connector's, per token", () => {
  it("counts /mcp and /chatgpt/* against one bucket for CHATGPT_BEARER_TOKEN", async () => {
    const token = uniqueId("mcp-token");
    const vars = { CONNECTOR_RATE_LIMIT: "3", CHATGPT_BEARER_TOKEN: token };
    const rest = await relay(
      "/chatgpt/prs/list",
      {
        method: "POST",
        headers: {
          Authorization: `Bearer ${token}`,
          "Content-Type": "application/json",
          "CF-Connecting-IP": uniqueIp(),
        },
        body: JSON.stringify({ owner: "octo", repo: "hivemind" }),
      },
      vars,
    );
    expect(rest.headers.get("RateLimit")).toMatch(/^"connector";r=2;/);
    // initialize and notifications/initialized take the bucket's last two requests; the next one is refused.
    const session = await mcpSession({ token, vars });
    await expect(session.client.listTools()).rejects.toThrow(/"code":"rate_limited"/);
  });

  // MCP 2025-06-18 removed JSON-RPC batching ("Changes from 2025-03-26": "Remove support for JSON-RPC batching").
  it("refuses a batch whole: 20 comment calls in one POST make no comment, and one at a time make the limit's", async () => {
    const github = githubScenario("ok");
    const token = uniqueId("mcp-token");
    const vars = { CONNECTOR_RATE_LIMIT: "3", CHATGPT_BEARER_TOKEN: token, GITHUB_API_URL: github.apiUrl };
    const batch = Array.from({ length: 20 }, (_, i) => commentCall(i + 1));
    const refused = await postMcp(batch, token, vars);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual(
      errorBody("batch_not_supported", "body: send one JSON-RPC message per request; batches are not accepted"),
    );
    expect(await auditRowsOf(refused)).toEqual([]);
    expect(await github.received()).toEqual([]);
    // The refused batch took one unit; the 19 single calls after it make two comments, then get 429.
    const statuses: number[] = [];
    for (const call of batch.slice(1)) statuses.push((await postMcp(call, token, vars)).status);
    expect(statuses).toEqual([200, 200, ...Array(17).fill(429)]);
    expect((await github.received()).map((request) => request.body)).toEqual([{ body: "Call 2" }, { body: "Call 3" }]);
  });

  it("gives each OAuth grant a bucket of its own, whatever its client's IP", async () => {
    const { accessToken } = await issuedTokens("read");
    const vars = { CONNECTOR_RATE_LIMIT: "2" };
    const session = await mcpSession({ token: accessToken, vars });
    await expect(session.client.listTools()).rejects.toThrow(/"code":"rate_limited"/);
    const other = await issuedTokens("read");
    const fresh = await mcpSession({ token: other.accessToken, vars });
    expect(fresh.requestIds).toHaveLength(2);
  });
});
