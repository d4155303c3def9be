import { env } from "cloudflare:workers";
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { CHATGPT_BEARER_TOKEN } from "../secrets";
import { githubScenario, relay, uniqueIp } from "./relay";

/** The relay's tools declare no output schema, so the client never validates one (and Ajv needs eval). */
const NO_VALIDATION: jsonSchemaValidator = {
  getValidator: () => () => ({ valid: false, data: undefined, errorMessage: "not used" }),
};

type SessionOptions = {
  token?: string;
  behaviour?: string;
  vars?: Record<string, string | undefined>;
  ip?: string;
  /**
   * The protocol revision the client asks for in `initialize`. The official v1 client always asks for the latest
   * it knows (2025-11-25); an older client, ChatGPT's for one, asks for 2025-06-18, which this changes on the wire.
   */
  announce?: string;
};

/** One request the client sent: its JSON-RPC method and the revision it named in MCP-Protocol-Version. */
export type SentRequest = { method: string; version: string | null; status: number };

/** The fetch of an MCP client that enters the relay through its front door (`relay()`), from one client IP. */
export function throughRelay(token: string, vars: Record<string, string | undefined>, ip = uniqueIp()) {
  const requestIds: string[] = [];
  const sent: SentRequest[] = [];
  const fetch = async (url: string | URL, init?: RequestInit, announce?: string) => {
    const headers = new Headers(init?.headers);
    headers.set("Authorization", `Bearer ${token}`);
    headers.set("CF-Connecting-IP", ip);
    let body = typeof init?.body === "string" ? init.body : undefined;
    const message =
      body === undefined ? {} : (JSON.parse(body) as { method?: string; params?: Record<string, unknown> });
    if (announce && message.method === "initialize") {
      body = JSON.stringify({ ...message, params: { ...message.params, protocolVersion: announce } });
    }
    const { pathname, search } = new URL(url);
    const response = await relay(`${pathname}${search}`, { ...init, headers, body }, vars);
    requestIds.push(response.headers.get("X-Request-Id") ?? "");
    sent.push({
      method: message.method ?? init?.method ?? "GET",
      version: headers.get("MCP-Protocol-Version"),
      status: response.status,
    });
    return response;
  };
  return { fetch, requestIds, sent };
}

/** The stand-in scenario and front door one MCP client of a test uses. */
function clientDoor({ token = CHATGPT_BEARER_TOKEN, behaviour = "ok", vars, ip }: SessionOptions) {
  const github = githubScenario(behaviour);
  const door = throughRelay(token, { GITHUB_API_URL: github.apiUrl, GITHUB_TIMEOUT_MS: "300", ...vars }, ip);
  return { github, door };
}

/** A connected client's session: calls a tool and returns its result with the audit rows of that one request. */
function session<C>(
  client: C,
  { github, door }: ReturnType<typeof clientDoor>,
  callTool: (name: string, args: Record<string, unknown>) => Promise<unknown>,
) {
  const { requestIds, sent } = door;
  return {
    client,
    github,
    requestIds,
    sent,
    async call(name: string, args: Record<string, unknown>) {
      const result = (await callTool(name, args)) as CallToolResult;
      return { result, audit: await auditRows(requestIds.at(-1) ?? "") };
    },
  };
}

/**
 * The official MCP client (SDK 1.32) connected to the relay's `/mcp` through the Worker's front door, with a GitHub
 * stand-in scenario of its own; `requestIds` lists the X-Request-Id of every answer (for the audit rows).
 */
export async function mcpSession(options: SessionOptions = {}) {
  const used = clientDoor(options);
  const transport = new StreamableHTTPClientTransport(new URL("https://relay.test/mcp"), {
    fetch: (url, init) => used.door.fetch(url, init, options.announce),
  });
  const client = new Client({ name: "relay-tests", version: "1.0.0" }, { jsonSchemaValidator: NO_VALIDATION });
  await client.connect(transport);
  return session(client, used, (name, args) => client.callTool({ name, arguments: args }));
}

/**
 * The official client of the 2026-07-28 revision (SDK v2) on the relay's `/mcp`, as `mcpSession`: pinned to that
 * revision (no `initialize`, no fallback), or negotiating (`auto`: a `server/discover` probe, then the newest
 * revision both speak).
 */
export async function mcp2026Session(options: SessionOptions & { negotiate?: boolean } = {}) {
  const used = clientDoor(options);
  const transport = new TransportV2(new URL("https://relay.test/mcp"), { fetch: used.door.fetch });
  const mode = options.negotiate ? "auto" : { pin: "2026-07-28" };
  const client = new ClientV2({ name: "relay-tests-v2", version: "2.0.0" }, { versionNegotiation: { mode } });
  await client.connect(transport);
  return session(client, used, (name, args) => client.callTool({ name, arguments: args }));
}

/** The audit rows one request wrote. */
async function auditRows(requestId: string) {
  const { results } = await env.DB.prepare(
    "SELECT actor, action, target, outcome, dry_run FROM audit_log WHERE request_id = ? ORDER BY id",
  )
    .bind(requestId)
    .all();
  return results;
}

/** A tool error as the relay writes it: the REST route's code and message, in text and structured. */
export function toolError(code: string, message: string) {
  return {
    content: [{ type: "text", text: `${code}: ${message}` }],
    structuredContent: { success: false, error: { code, message } },
    isError: true,
  };
}

/** A tool's success: its answer as JSON text and as structured content. */
export function toolResult(answer: Record<string, unknown>) {
  return { content: [{ type: "text", text: JSON.stringify(answer) }], structuredContent: answer };
}

/** A raw POST /mcp of `body` (one JSON-RPC message, or anything else) with a bearer token, from an IP of its own. */
export function postMcp(body: unknown, token: string, vars?: Record<string, string>): Promise<Response> {
  return relay(
    "/mcp",
    {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "CF-Connecting-IP": uniqueIp(),
      },
      body: JSON.stringify(body),
    },
    vars,
  );
}

/** A tools/list on /mcp with a bearer token: 200, or the 401 of a token that is not valid there. */
export async function mcpStatus(token: string): Promise<number> {
  const response = await postMcp({ jsonrpc: "2.0", id: 1, method: "tools/list" }, token);
  await response.body?.cancel();
  return response.status;
}

/** The `_meta` a 2026-07-28 request carries: its revision, the client's capabilities and who the client is. */
export function envelope(version = "2026-07-28") {
  return {
    "io.modelcontextprotocol/protocolVersion": version,
    "io.modelcontextprotocol/clientInfo": { name: "raw-tests", version: "1.0.0" },
    "io.modelcontextprotocol/clientCapabilities": {},
  };
}

/**
 * A raw 2026-07-28 POST /mcp of one JSON-RPC request, with the headers the revision requires mirrored from the body
 * (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` for a tool call); `headers` replaces or (as null) removes them.
 */
export function postMcp2026(
  message: { method: string; params?: Record<string, unknown> },
  { headers = {}, vars }: { headers?: Record<string, string | null>; vars?: Record<string, string> } = {},
): Promise<Response> {
  const mirrored: Record<string, string | null> = {
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": message.method,
    ...(message.method === "tools/call" ? { "Mcp-Name": String(message.params?.name) } : {}),
    ...headers,
  };
  const sent = new Headers({
    Authorization: `Bearer ${CHATGPT_BEARER_TOKEN}`,
    "Content-Type": "application/json",
    Accept: "application/json, text/event-stream",
    "CF-Connecting-IP": uniqueIp(),
  });
  for (const [name, value] of Object.entries(mirrored)) if (value !== null) sent.set(name, value);
  const body = JSON.stringify({ jsonrpc: "2.0", id: 7, ...message });
  return relay("/mcp", { method: "POST", headers: sent, body }, vars);
}
