import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** Answers with a JSON body (the stand-ins' only kind of non-streamed answer). */
export function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  contentType = "application/json",
): void {
  res.writeHead(status, { "Content-Type": contentType, ...headers });
  res.end(JSON.stringify(value));
}

/**
 * The whole request body as text, or what arrived of it when the client went away first: a relay whose
 * timeout passed while a busy test process had not yet read the body. The request is still recorded, and
 * nobody is left to answer; the stand-in must not fail (an unhandled rejection ends the whole test run).
 */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) chunks.push(chunk as Buffer);
  } catch (error) {
    if (!req.destroyed) throw error;
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The body as JSON when it is JSON, else the text itself, so a stand-in records whatever arrived. */
export function parseRecorded(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Listens on 127.0.0.1 (port 0: any free port) and returns the base URL and a `close()` that also drops
 * kept-alive connections, so that a test run never waits for an idle socket to time out.
 */
export async function listenOnLoopback(server: Server, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  // Node closes a kept-alive connection after 5 s idle by default, and a request that reaches it as it closes
  // fails with "Network connection lost": on a busy machine the test process runs that timer late, after the
  // request's bytes have arrived. Idle connections stay open until the client drops them or close() does.
  server.keepAliveTimeout = 0;
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
