import { UpstreamTimeout, UpstreamUnreachable } from "../errors";
import { idleReads, type StreamEnd, UpstreamStalled, withinIdle } from "../lib/watch-stream";

export type OpenAIConfig = { baseUrl: string; apiKey: string; timeoutMs: number };

const UPSTREAM = "The OpenAI upstream";

/**
 * The most the relay takes from the upstream for one answer, streamed or not. A completion capped at
 * MAX_TOKENS is far smaller, even as a stream of one small event per token; more is a broken upstream.
 */
export const MAX_UPSTREAM_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Response headers worth passing on; everything else (cookies, upstream org ids, limits) stays here. The
 * upstream's `Cache-Control` (`no-cache` on a stream) stays too: an authenticated answer is `no-store`.
 */
const PASSED_HEADERS = ["content-type"];

/** The upstream's answer: a stream to pass on as it arrives, or a whole body already read. */
export type UpstreamAnswer =
  | { kind: "stream"; status: number; headers: Headers; body: ReadableStream<Uint8Array> }
  | { kind: "whole"; status: number; headers: Headers; body: Uint8Array };

/**
 * POSTs a chat completion upstream. Only the relay's own key is sent, never the caller's credentials. No
 * answer headers within `timeoutMs` → 504; refused, reset or redirected → 502. A stream is returned as it
 * arrives (the caller watches it chunk by chunk); any other answer, success or error, is read whole here
 * under the same idle timeout and MAX_UPSTREAM_BODY_BYTES, so that a body that stalls or never ends becomes
 * a clean 504 or 502 instead of a hang. `onBodyEnd` hears how such a body ended, for the log. An upstream
 * error status passes through with its body, minus the key.
 */
export async function postChatCompletion(
  config: OpenAIConfig,
  body: string,
  onBodyEnd: (end: StreamEnd) => void = () => {},
): Promise<UpstreamAnswer> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), config.timeoutMs);
  let upstream: Response;
  try {
    upstream = await fetch(`${config.baseUrl}/chat/completions`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${config.apiKey}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body,
      redirect: "manual",
      signal: abort.signal,
    });
  } catch {
    if (abort.signal.aborted) throw new UpstreamTimeout(UPSTREAM, config.timeoutMs);
    throw new UpstreamUnreachable(UPSTREAM);
  } finally {
    clearTimeout(timer);
  }
  if (upstream.status >= 300 && upstream.status < 400) {
    await upstream.body?.cancel();
    throw new UpstreamUnreachable(UPSTREAM, "answered with a redirect");
  }

  const headers = new Headers();
  for (const name of PASSED_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const streaming = upstream.ok && (headers.get("content-type")?.startsWith("text/event-stream") ?? false);
  if (streaming && upstream.body) return { kind: "stream", status: upstream.status, headers, body: upstream.body };

  const whole = await readAnswer(upstream, config.timeoutMs, onBodyEnd);
  // Some servers echo the key they were given in an error (OpenAI masks it, others may not).
  const bytes = upstream.ok
    ? whole
    : new TextEncoder().encode(new TextDecoder().decode(whole).replaceAll(config.apiKey, "[redacted]"));
  return { kind: "whole", status: upstream.status, headers, body: bytes };
}

/** Ends a read of the answer that stalled or broke: logged, the body let go, and the relay's error thrown. */
function brokenOff(error: unknown, idleMs: number, onEnd: (end: StreamEnd) => void, cancel: () => unknown): never {
  const stall = error instanceof UpstreamStalled;
  onEnd(stall ? "upstream_stalled" : "upstream_broke");
  cancel();
  if (stall) throw new UpstreamTimeout(UPSTREAM, idleMs, "sent nothing more of its answer for");
  throw new UpstreamUnreachable(UPSTREAM, "broke off its answer");
}

/**
 * Reads a whole answer. One that announces its length within the cap (OpenAI's JSON answers do) is read in
 * one native call, under one timer; any other body chunk by chunk (readWhole).
 */
async function readAnswer(upstream: Response, idleMs: number, onEnd: (end: StreamEnd) => void): Promise<Uint8Array> {
  const length = Number(upstream.headers.get("content-length") ?? Number.NaN);
  if (!(Number.isInteger(length) && length >= 0 && length <= MAX_UPSTREAM_BODY_BYTES)) {
    return readWhole(upstream.body, idleMs, onEnd);
  }
  try {
    return new Uint8Array(await withinIdle(upstream.arrayBuffer(), idleMs));
  } catch (error) {
    return brokenOff(error, idleMs, onEnd, () => void upstream.body?.cancel().catch(() => {}));
  }
}

/** Reads a body to its end; each read must bring bytes within `idleMs`, and the whole stay under the cap. */
async function readWhole(
  body: ReadableStream<Uint8Array> | null,
  idleMs: number,
  onEnd: (end: StreamEnd) => void,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array();
  const reads = idleReads(body, idleMs);
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const part = await reads
        .read()
        .catch((error: unknown) => brokenOff(error, idleMs, onEnd, () => void reads.cancel().catch(() => {})));
      if (part.done) break;
      size += part.value.byteLength;
      if (size > MAX_UPSTREAM_BODY_BYTES) {
        onEnd("upstream_too_large");
        void reads.cancel().catch(() => {});
        throw new UpstreamUnreachable(UPSTREAM, `answered with more than ${MAX_UPSTREAM_BODY_BYTES} bytes`);
      }
      parts.push(part.value);
    }
  } finally {
    reads.stop();
  }
  if (parts.length === 1) return parts[0] as Uint8Array;
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.byteLength;
  }
  return whole;
}
