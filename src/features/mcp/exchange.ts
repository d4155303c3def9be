import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";

/**
 * The MCP SDK's transport for one exchange of stateless Streamable HTTP: the POST's one request goes to the
 * server, and the server's response to it is the answer, as JSON. It stands in for the SDK's
 * WebStandardStreamableHTTPServerTransport, whose sessions, event streams and resumption a stateless relay never
 * uses (14 KiB of the Worker, minified); the route checks what that transport checked (Accept, Content-Type,
 * one message, MCP-Protocol-Version).
 */
export class OneExchange implements Transport {
  onmessage?: Transport["onmessage"];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  #request?: JSONRPCRequest;
  #answered?: (message: JSONRPCMessage) => void;

  async start(): Promise<void> {}

  /** The server's messages: only its response to the request is kept (the relay's server sends nothing else). */
  async send(message: JSONRPCMessage): Promise<void> {
    if ("id" in message && !("method" in message) && message.id === this.#request?.id) this.#answered?.(message);
  }

  async close(): Promise<void> {
    this.onclose?.();
  }

  /** Hands a request to the server and resolves with its response: a result or a JSON-RPC error. */
  answer(request: JSONRPCRequest): Promise<JSONRPCMessage> {
    this.#request = request;
    const answered = new Promise<JSONRPCMessage>((resolve) => {
      this.#answered = resolve;
    });
    this.onmessage?.(request);
    return answered;
  }
}
