import { bodyLimit } from "hono/body-limit";
import { PayloadTooLarge } from "../errors";

/** The default cap on a JSON request body. */
export const MAX_JSON_BYTES = 1024 * 1024;

/** 413 before the handler reads a body larger than `maxBytes` (Content-Length or streamed count). */
export function limitBody(maxBytes = MAX_JSON_BYTES) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLarge(maxBytes);
    },
  });
}
