import type { IncomingMessage, ServerResponse } from "node:http";

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

/** The whole request body as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
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
