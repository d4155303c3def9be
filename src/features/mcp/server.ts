import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import * as z from "zod";
import { outcomeOf, recordAttempt } from "../../audit/attempt";
import { InternalError, RelayError } from "../../errors";
import type { Logger } from "../../lib/log";
import type { Scope } from "../oauth/server";
import { TOOLS, type Tool, type ToolContext } from "./tools";

/** Who called `/mcp`, as its credential says: the scopes it holds. */
export type McpCaller = { scopes: readonly Scope[] };

/** What a tool call needs from its HTTP request. */
export type McpRequestContext = { env: Env; requestId: string; clientIp: string; log: Logger; caller: McpCaller };

/** The tools as `tools/list` shows them: JSON Schema of each route's zod schema, as the caller may send it. */
const LISTED = TOOLS.map((tool) => {
  const { $schema: _, ...inputSchema } = z.toJSONSchema(tool.input, { io: "input" });
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: inputSchema as { type: "object"; [key: string]: unknown },
    annotations: tool.annotations,
  };
});

// The server never asks the client for input (elicitation), the only thing it would validate with JSON
// Schema; this keeps the SDK from compiling schemas with Ajv, which workerd forbids (no eval).
const NO_VALIDATION: jsonSchemaValidator = {
  getValidator: () => () => ({ valid: false, data: undefined, errorMessage: "JSON Schema validation is not used" }),
};

/**
 * Answers one MCP request (Streamable HTTP, stateless: a new server and transport per request, JSON
 * answers rather than a stream). `message` is the JSON-RPC body the route has already read.
 */
export async function answerMcp(request: Request, message: unknown, context: McpRequestContext): Promise<Response> {
  const server = new Server(
    { name: "kora", title: "Kora (Soul Mirror Relay)", version: "1.0.0" },
    {
      capabilities: { tools: {} },
      instructions:
        "Kora reads and talks on the pull requests of the repositories this relay allows, and starts Hivemind tasks. It can never merge, push, delete or close anything.",
      jsonSchemaValidator: NO_VALIDATION,
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: LISTED }));
  server.setRequestHandler(CallToolRequestSchema, ({ params }) => {
    const tool = TOOLS.find((candidate) => candidate.name === params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${params.name}`);
    return callTool(tool, params.arguments ?? {}, context);
  });
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(request, { parsedBody: message });
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
