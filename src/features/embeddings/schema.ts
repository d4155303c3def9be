import * as z from "zod";
import { shortText } from "../proxy/fields";

const tokens = z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).min(1);

/**
 * An OpenAI embeddings request (https://platform.openai.com/docs/api-reference/embeddings/create): text, texts,
 * token ids or lists of token ids (at most 2048 inputs), every field checked; anything else is refused by name.
 */
export const embeddingsRequest = z.strictObject({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048), tokens, z.array(tokens).min(1).max(2048)]),
  dimensions: z.number().int().positive().max(65_536).nullish(),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  user: shortText(256),
});
export type EmbeddingsRequest = z.output<typeof embeddingsRequest>;
