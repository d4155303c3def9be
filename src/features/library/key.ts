import { InvalidRequest } from "../../errors";

/** R2's limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;
/** C0 and C1 control characters and DEL (Unicode category Cc): they make log lines and file names lie. */
export const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Why a library key (already split on `/` and decoded) is unsafe, or undefined when it is fine. There is no
 * second spelling of a key: `.` and `..` segments, empty segments (a leading `/` or `//`), a `/` that was
 * percent-encoded inside a segment, backslashes and control characters are refused, not cleaned up.
 */
export function keyProblem(segments: string[]): string | undefined {
  for (const segment of segments) {
    if (segment === "") return "must not be absolute or contain an empty segment";
    if (segment === "." || segment === "..") return "must not contain . or .. segments";
    if (segment.includes("/")) return "must not contain an encoded /";
    if (segment.includes("\\")) return "must not contain a backslash";
    if (CONTROL_CHARACTER.test(segment)) return "must not contain control characters";
  }
  if (new TextEncoder().encode(segments.join("/")).length > MAX_KEY_BYTES) {
    return `must be at most ${MAX_KEY_BYTES} bytes`;
  }
  return undefined;
}

/**
 * The R2 key named by the still percent-encoded rest of a URL path (`docs/Chapter%201.pdf`): each segment
 * decoded once and put into Unicode NFC, so a key typed on any system finds the same object. Unsafe → 400.
 */
export function keyFromPath(encoded: string): string {
  if (encoded === "") throw new InvalidRequest("path: names no library item", "invalid_path");
  const segments = encoded.split("/").map((segment) => {
    try {
      return decodeURIComponent(segment).normalize("NFC");
    } catch {
      throw new InvalidRequest("path: is not valid percent-encoding", "invalid_path");
    }
  });
  const problem = keyProblem(segments);
  if (problem !== undefined) throw new InvalidRequest(`path: ${problem}`, "invalid_path");
  return segments.join("/");
}

/** The encoded path a wildcard route (`/library/*`) matched in a request URL, before any decoding. */
export function pathAfter(url: string, wildcardPath: string): string {
  const prefix = wildcardPath.replace(/\*$/, "");
  const { pathname } = new URL(url);
  return pathname.startsWith(prefix) ? pathname.slice(prefix.length) : "";
}
