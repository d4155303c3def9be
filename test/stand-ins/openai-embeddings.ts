import type { ServerResponse } from "node:http";
import { json } from "./http.ts";

/**
 * The OpenAI stand-in's `/v1/embeddings` (test/stand-ins/openai.ts), shaped as the API reference and the
 * `openai` package's `CreateEmbeddingResponse` say: `{object: "list", data: [{object: "embedding", index,
 * embedding}], model, usage: {prompt_tokens, total_tokens}}`, the usage last as OpenAI writes it. Each vector
 * has `dimensions` (default 8) numbers, as floats or, with `encoding_format: "base64"` (what the SDK asks for),
 * as little-endian float32s in base64. Usage: a token per 4 characters of each text, one per token id.
 */
export type EmbeddingsBody = {
  model?: string;
  input?: string | string[] | number[] | number[][];
  dimensions?: number;
  encoding_format?: "float" | "base64";
};

export function embed(res: ServerResponse, body: EmbeddingsBody, usageFirst = false): void {
  const input = body.input ?? [];
  const items: Array<string | number | number[]> = Array.isArray(input) ? input : [input];
  const texts = items.every((item) => typeof item === "number") ? [items as number[]] : items;
  const dimensions = body.dimensions ?? 8;
  const tokens = texts.reduce<number>(
    (sum, item) =>
      sum + (typeof item === "string" ? Math.ceil(item.length / 4) : Array.isArray(item) ? item.length : 1),
    0,
  );
  const data = texts.map((_, index) => {
    const vector = Float32Array.from({ length: dimensions }, (__, i) => (index + 1) / (i + 2));
    const embedding =
      body.encoding_format === "base64" ? Buffer.from(vector.buffer).toString("base64") : Array.from(vector);
    return { object: "embedding", index, embedding };
  });
  const usage = { prompt_tokens: tokens, total_tokens: tokens };
  const model = body.model ?? "unknown";
  json(res, 200, usageFirst ? { usage, object: "list", data, model } : { object: "list", data, model, usage });
}
