import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  type JSONRPCMessage,
  type JSONRPCRequest,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import * as z from "zod";
import { outcomeOf, recordAttempt } from "../../audit/attempt";
import { InternalError, RelayError } from "../../errors";
import type { Logger } from "../../lib/log";
import type { Scope } from "../oauth/server";
import { OneExchange } from "./exchange";
import { TOOLS, type Tool, type ToolContext } from "./tools";

/** Who called `/mcp`, as its credential says: the scopes it holds. */
export type McpCaller = { scopes: readonly Scope[] };

/** What a tool call needs from its HTTP request. */
export type McpRequestContext = { env: Env; requestId: string; clientIp: string; log: Logger; caller: McpCaller };

/**
 * Kora's icon for the server and its tools (MCP 2025-11-25 `icons`): a data URI, so that a client shows it
 * without fetching anything, and an SVG with no script or link in it.
 */
const ICONS = [
  {
    src: `data:image/svg+xml;base64,${btoa('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="6" fill="#4f46e5"/><path d="M8 6v12m0-6 7-6m-7 6 7 6" fill="none" stroke="#fff" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"/></svg>')}`,
    mimeType: "image/svg+xml",
    sizes: ["any"],
  },
];

/** The tools as `tools/list` shows them: JSON Schema of each route's zod schema, as the caller may send it. */
const LISTED = TOOLS.map((tool) => {
  const { $schema: _, ...inputSchema } = z.toJSONSchema(tool.input, { io: "input" });
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: inputSchema as { type: "object"; [key: string]: unknown },
    // Clients of the 2025-03-26 revision read a tool's display name from its annotations.
    annotations: { title: tool.title, ...tool.annotations },
    icons: ICONS,
  };
});

// The server never asks the client for input (elicitation), the only thing it would validate with JSON
// Schema; this keeps the SDK from compiling schemas with Ajv, which workerd forbids (no eval).
const NO_VALIDATION: jsonSchemaValidator = {
  getValidator: () => () => ({ valid: false, data: undefined, errorMessage: "JSON Schema validation is not used" }),
};

/** Who the server says it is: in `initialize`'s answer, and in every 2026-07-28 result's `_meta`. */
export const SERVER_INFO = { name: "kora", title: "Kora (Soul Mirror Relay)", version: "1.0.0", icons: ICONS };

/** What the server tells a client's model about itself. */
export const INSTRUCTIONS =
  "Kora reads and talks on the pull requests of the repositories this relay allows, and starts Hivemind tasks. It can never merge, push, delete or close anything.";

/**
 * Answers one MCP request (stateless: a new server per request) with the server's response: a result or a
 * JSON-RPC error.
 */
export async function answerMcp(request: JSONRPCRequest, context: McpRequestContext): Promise<JSONRPCMessage> {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: {} },
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: NO_VALIDATION,
  });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: LISTED }));
  server.setRequestHandler(CallToolRequestSchema, ({ params }) => {
    const tool = TOOLS.find((candidate) => candidate.name === params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${params.name}`);
    return callTool(tool, params.arguments ?? {}, context);
  });
  const exchange = new OneExchange();
  await server.connect(exchange);
  try {
    return await exchange.answer(request);
  } finally {
    await server.close();
  }
}

/**
 * Runs one tool: the scope check, then the action (which validates, checks the allowlist and calls GitHub).
 * A refusal or failure is a tool result with `isError` and the REST route's code and message; a write's
 * attempt is audited as the REST route audits it, with the actor `mcp`.
 */
async function callTool(tool: Tool, input: unknown, context: McpRequestContext): Promise<CallToolResult> {
  const { env, requestId, clientIp, log, caller } = context;
  const ctx: ToolContext = {
    env,
    requestId,
    clientIp,
    audit: { target: tool.target?.(env) ?? "unknown", dryRun: false },
  };
  let result: CallToolResult;
  let error: RelayError | undefined;
  try {
    if (!caller.scopes.includes(tool.scope)) {
      throw new RelayError(
        403,
        "insufficient_scope",
        `${tool.name} needs the ${tool.scope} scope, which this token does not have`,
      );
    }
    const answer = await tool.run(ctx, input);
    result = { content: [{ type: "text", text: JSON.stringify(answer) }], structuredContent: answer };
  } catch (caught) {
    error = caught instanceof RelayError ? caught : unexpected(caught, log);
    const body = { success: false, error: { code: error.code, message: error.message } };
    result = {
      content: [{ type: "text", text: `${error.code}: ${error.message}` }],
      structuredContent: body,
      isError: true,
    };
  }
  if (tool.audit !== null) {
    const outcome = ctx.audit.outcome ?? outcomeOf(error?.status ?? 200, error);
    await recordAttempt(env.DB, log, { actor: "mcp", action: tool.audit, draft: ctx.audit, outcome, requestId });
  }
  return result;
}

/** An error that is not the relay's own: its detail goes to the log only, as src/index.ts does for routes. */
function unexpected(caught: unknown, log: Logger): RelayError {
  const name = caught instanceof Error ? caught.name : "unknown";
  const detail = caught instanceof Error ? caught.message.slice(0, 200) : "";
  log.event("error", "unhandled error", { error: name, detail });
  return new InternalError();
}
