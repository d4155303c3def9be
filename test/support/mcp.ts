import { env } from "cloudflare:workers";
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

/**
 * The official MCP client connected to the relay's `/mcp` through the Worker's front door, with a GitHub
 * stand-in scenario of its own; `requestIds` lists the X-Request-Id of every answer (for the audit rows).
 */
export async function mcpSession({
  token = CHATGPT_BEARER_TOKEN,
  behaviour = "ok",
  vars,
  ip,
  announce,
}: SessionOptions = {}) {
  const github = githubScenario(behaviour);
  const door = throughRelay(token, { GITHUB_API_URL: github.apiUrl, GITHUB_TIMEOUT_MS: "300", ...vars }, ip);
  const transport = new StreamableHTTPClientTransport(new URL("https://relay.test/mcp"), {
    fetch: (url, init) => door.fetch(url, init, announce),
  });
  const client = new Client({ name: "relay-tests", version: "1.0.0" }, { jsonSchemaValidator: NO_VALIDATION });
  await client.connect(transport);
  const { requestIds, sent } = door;
  return {
    client,
    github,
    requestIds,
    sent,
    /** Calls a tool and returns its result with the audit rows of that one request. */
    async call(name: string, args: Record<string, unknown>) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      return { result, audit: await auditRows(requestIds.at(-1) ?? "") };
    },
  };
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
