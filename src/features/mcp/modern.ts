import {
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/sdk/types.js";
import { answerMcp, INSTRUCTIONS, type McpRequestContext, SERVER_INFO } from "./server";

/**
 * MCP 2026-07-28 ("modern" in the specification: no `initialize`, every request carries its revision and the
 * client's capabilities in `_meta`) on top of SDK 1.32, which serves the older revisions. This file only
 * translates the wire: it checks what the revision requires of a request (basic/index.mdx "_meta";
 * transports/streamable-http.mdx "Request Metadata", "Server Validation"), answers `server/discover` itself, and
 * hands `tools/list` and `tools/call` to the same SDK server and tools as the older revisions, adding to their
 * results what the revision requires (`resultType`, the cache fields, the server's identity).
 */

/** The first modern revision, and the modern revisions /mcp serves. */
const FIRST_MODERN = "2026-07-28";
const MODERN = [FIRST_MODERN];
/** Every revision /mcp serves, newest first: what `server/discover` and an unsupported-version error list. */
export const SERVED_VERSIONS = [...MODERN, ...SUPPORTED_PROTOCOL_VERSIONS];

const VERSION = "io.modelcontextprotocol/protocolVersion";
const CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
const CLIENT_INFO = "io.modelcontextprotocol/clientInfo";

/**
 * How long a client may reuse `server/discover` and `tools/list` answers (`ttlMs`): both change only when the
 * relay is deployed again. `private`: reused only under the same credential, never shared by a proxy.
 */
const CACHE = { ttlMs: 600_000, cacheScope: "private" };

// The revision's error codes (basic/index.mdx, "Error Codes"), and JSON-RPC's.
const HEADER_MISMATCH = -32020;
const UNSUPPORTED_VERSION = -32022;
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;

type Params = Record<string, unknown>;

const isObject = (value: unknown): value is Params =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A revision is modern from 2026-07-28 on; revisions are dates, so their strings sort in time order. */
const isModernVersion = (version: string | undefined) => version !== undefined && version >= FIRST_MODERN;

/**
 * Whether a message is a request of the modern revision: its `_meta` names a revision (the body decides), or its
 * `MCP-Protocol-Version` header names a modern one. Anything else (`initialize` and what follows it, notifications)
 * is for the SDK, as before.
 */
export function isModernRequest(message: JSONRPCMessage, header: string | undefined): message is JSONRPCRequest {
  if (!("method" in message && "id" in message)) return false;
  const meta = message.params?._meta;
  return (isObject(meta) && VERSION in meta) || isModernVersion(header);
}

/** A JSON-RPC error answer; `status` is the HTTP status the revision gives it. */
function rpcError(id: RequestId | undefined, code: number, message: string, status = 400, data?: unknown) {
  return Response.json({ jsonrpc: "2.0", id, error: { code, message, data } }, { status });
}

/** The answer to a request in a revision /mcp does not serve: 400 and the revisions it does (-32022). */
export function unsupportedVersion(id: RequestId | undefined, requested: string): Response {
  return rpcError(id, UNSUPPORTED_VERSION, `Unsupported protocol version: ${requested}`, 400, {
    supported: SERVED_VERSIONS,
    requested,
  });
}

/** What is wrong with a request's `_meta` envelope, or undefined (-32602 Invalid params, HTTP 400). */
function envelopeProblem(meta: unknown): string | undefined {
  if (!isObject(meta)) return "params._meta is required";
  if (typeof meta[VERSION] !== "string") return `_meta["${VERSION}"] must be a string`;
  if (!isObject(meta[CAPABILITIES])) return `_meta["${CAPABILITIES}"] must be an object`;
  const info = meta[CLIENT_INFO];
  if (info !== undefined && !(isObject(info) && typeof info.name === "string" && typeof info.version === "string")) {
    return `_meta["${CLIENT_INFO}"] must have a name and a version`;
  }
  return undefined;
}

/** An `Mcp-Name` header as sent: plain, or `=?base64?…?=` around the UTF-8 of the value; null if malformed. */
function decodeName(header: string): string | null {
  const encoded = /^=\?base64\?(.*)\?=$/.exec(header)?.[1];
  if (encoded === undefined) return header;
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** Why the request's standard headers disagree with its body, or undefined (-32020 HeaderMismatch). */
function headerMismatch(request: JSONRPCRequest, headers: Headers): string | undefined {
  if (!headers.has("MCP-Protocol-Version")) return "MCP-Protocol-Version header is required";
  const method = headers.get("Mcp-Method");
  if (method !== request.method) return `Mcp-Method header ${method ?? "(missing)"} does not match ${request.method}`;
  // `Mcp-Name` mirrors the tool's name (also a prompt's name or a resource's URI, methods /mcp does not serve).
  const name = request.params?.name;
  if (request.method !== "tools/call" || typeof name !== "string") return undefined;
  const header = headers.get("Mcp-Name");
  return header !== null && decodeName(header) === name ? undefined : "Mcp-Name header does not match params.name";
}

/** What is wrong with a request's params that the SDK would refuse less clearly, or undefined (-32602). */
function paramsProblem(method: string, { name, arguments: args, cursor }: Params): string | undefined {
  if (method === "tools/call" && (typeof name !== "string" || !isObject(args ?? {}))) {
    return "tools/call needs params.name (a string) and params.arguments (an object)";
  }
  if (cursor !== undefined && typeof cursor !== "string") return "params.cursor must be a string";
  return undefined;
}

/**
 * The refusal of a request the revision calls malformed, in the order of its checks (revision, envelope, headers),
 * or undefined: 400 with HeaderMismatch, UnsupportedProtocolVersion or Invalid params.
 */
function malformed(request: JSONRPCRequest, headers: Headers): Response | undefined {
  const { id, params = {} } = request;
  const header = headers.get("MCP-Protocol-Version") ?? undefined;
  const claimed = isObject(params._meta) ? params._meta[VERSION] : undefined;
  if (header !== undefined && claimed !== undefined && claimed !== header) {
    return rpcError(id, HEADER_MISMATCH, `MCP-Protocol-Version header ${header} does not match _meta ${claimed}`);
  }
  const version = typeof claimed === "string" ? claimed : header;
  if (version !== undefined && !MODERN.includes(version)) return unsupportedVersion(id, version);
  const problem = envelopeProblem(params._meta);
  if (problem) return rpcError(id, INVALID_PARAMS, problem);
  const mismatch = headerMismatch(request, headers);
  return mismatch ? rpcError(id, HEADER_MISMATCH, mismatch) : undefined;
}

/**
 * Answers one request of the modern revision: 400 when malformed, 404 for a method the revision does not define
 * or /mcp does not serve (`ping` and `initialize` among them), else 200 with a result or a JSON-RPC error (an
 * unknown tool, invalid params), which the revision answers in band.
 */
export async function answerModern(
  request: JSONRPCRequest,
  headers: Headers,
  context: McpRequestContext,
): Promise<Response> {
  const refused = malformed(request, headers);
  if (refused) return refused;
  const { id, method, params = {} } = request;
  const complete = (result: Params) =>
    Response.json({
      jsonrpc: "2.0",
      id,
      result: { ...result, resultType: "complete", _meta: { "io.modelcontextprotocol/serverInfo": SERVER_INFO } },
    });
  if (method === "server/discover") {
    const discovery = { supportedVersions: SERVED_VERSIONS, capabilities: { tools: {} }, instructions: INSTRUCTIONS };
    return complete({ ...discovery, ...CACHE });
  }
  if (method !== "tools/list" && method !== "tools/call") {
    return rpcError(id, METHOD_NOT_FOUND, `Method not found: ${method}`, 404);
  }
  const problem = paramsProblem(method, params);
  if (problem) return rpcError(id, INVALID_PARAMS, `Invalid params: ${problem}`, 200);
  // The SDK answers the request as the older revisions have it: the revision's own fields stay behind.
  const { name, arguments: args, cursor } = params;
  const answer = await answerMcp({ jsonrpc: "2.0", id, method, params: { name, arguments: args, cursor } }, context);
  if (!("result" in answer)) return Response.json(answer);
  return complete(method === "tools/list" ? { ...answer.result, ...CACHE } : answer.result);
}
