import {
  isInitializeRequest,
  isJSONRPCRequest,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv, Caller } from "../../env";
import { InvalidRequest, RelayError } from "../../errors";
import { readJson, validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { RESOURCE_METADATA_PATH, relayOrigin, SCOPES, validateAccessToken } from "../oauth/server";
import { answerModern, isModernRequest, SERVED_VERSIONS, unsupportedVersion } from "./modern";
import { answerMcp, type McpCaller } from "./server";

/** Kora over MCP: Streamable HTTP, stateless, one POST per JSON-RPC message (docs/api.md, "Kora over MCP"). */
export const mcpRoutes = {
  mcp: {
    method: "POST",
    path: "/mcp",
    auth: "mcp-token",
    rateLimit: "connector",
    body: "json",
    oauthTokens: validateAccessToken,
  },
} as const satisfies Record<string, RouteSpec>;

/** The MCP endpoint's sub-app. */
export const mcp = new Hono<AppEnv>();

/**
 * What the caller may do over MCP: CHATGPT_BEARER_TOKEN every scope, an OAuth access token issued for this
 * deployment's `/mcp` its own; ADMIN_TOKEN and RELAY_SECRET are neither (src/caller/identify.ts decided who
 * called, before the rate limit, which counts per token as the connector's does and per grant).
 */
function mcpCallerOf(caller: Caller): McpCaller | undefined {
  if (caller.kind === "chatgpt-token") return { scopes: [...SCOPES] };
  if (caller.kind === "oauth") return { scopes: caller.grant.scopes };
  return undefined;
}

/** 401 pointing an MCP client at the resource metadata, where OAuth discovery starts (RFC 9728 §5.1). */
function unauthorized(url: URL): RelayError {
  const origin = relayOrigin(url);
  const discovery =
    origin === null ? "" : `, resource_metadata="${origin}${RESOURCE_METADATA_PATH}", scope="${SCOPES.join(" ")}"`;
  return new RelayError(401, "unauthorized", "Missing or invalid credentials", {
    "WWW-Authenticate": `Bearer realm="relay"${discovery}`,
  });
}

/**
 * The one JSON-RPC message of a POST. MCP's 2025-06-18 revision removed batches; the relay refuses one whole,
 * before any of it runs, because each tool call takes one unit of the rate limit: a batch of twenty would
 * make twenty calls for one unit.
 */
async function oneMessage(request: Request): Promise<JSONRPCMessage> {
  const body = await readJson(request, z.unknown());
  if (Array.isArray(body)) {
    throw new InvalidRequest(
      "body: send one JSON-RPC message per request; batches are not accepted",
      "batch_not_supported",
    );
  }
  return validate(JSONRPCMessageSchema, body);
}

mount(mcp, mcpRoutes.mcp, async (c) => {
  const caller = mcpCallerOf(c.get("caller"));
  if (!caller) throw unauthorized(new URL(c.req.url));
  // Streamable HTTP: a client must accept both a JSON answer and an event stream.
  const accept = c.req.header("Accept") ?? "";
  if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
    throw new RelayError(406, "not_acceptable", "Accept must list application/json and text/event-stream");
  }
  const message = await oneMessage(c.req.raw);
  const version = c.req.header("MCP-Protocol-Version");
  const context = {
    env: c.env,
    requestId: c.get("requestId"),
    clientIp: c.get("clientIp"),
    log: c.get("log"),
    caller,
  };
  // 2026-07-28 and later: the request names its revision itself (modern.ts).
  if (isModernRequest(message, version)) return answerModern(message, c.req.raw.headers, context);
  // Before it, a client names the revision it negotiated in `initialize` on every request after it (Streamable
  // HTTP, "Protocol Version Header").
  if (version !== undefined && !isInitializeRequest(message) && !SERVED_VERSIONS.includes(version)) {
    return unsupportedVersion("id" in message ? message.id : undefined, version);
  }
  // A notification (or a response) asks nothing of a server that sends no requests: accepted, no body.
  if (!isJSONRPCRequest(message)) return c.body(null, 202);
  return c.json(await answerMcp(message, context));
});
