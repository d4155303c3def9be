import { UpstreamTimeout, UpstreamUnreachable } from "../errors";
import { idleReads, type StreamEnd, UpstreamStalled, withinIdle } from "../lib/watch-stream";

/** An OpenAI-compatible upstream: OpenAI itself (`openai`, OPENAI_BASE_URL) or a PROVIDERS entry. */
export type UpstreamTarget = { name: string; baseUrl: string; apiKey: string; timeoutMs: number };

/** One try at an answer: where it goes, and the body it sends there (the model differs between tries). */
export type Attempt = { target: UpstreamTarget; body: string };

/** How errors name an upstream. */
function labelOf(target: UpstreamTarget): string {
  return target.name === "openai" ? "The OpenAI upstream" : `The upstream ${target.name}`;
}

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

/** An answer: a stream to pass on as it arrives, or a whole body already read. */
type Answer =
  | { kind: "stream"; status: number; headers: Headers; body: ReadableStream<Uint8Array> }
  | { kind: "whole"; status: number; headers: Headers; body: Uint8Array };

/** The upstream's answer, and which of the attempts gave it. */
export type UpstreamAnswer = Answer & { attempt: number };

/** What the caller of `postModel` hears about the answer: how a whole body ended, and each try that failed. */
export type PostEvents = {
  onBodyEnd?: (end: StreamEnd) => void;
  onFailedAttempt?: (attempt: number, why: string) => void;
};

/** Whether another upstream may be tried after this answer: it is rate limited or failed on its side. */
function worthAnother(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * POSTs to `path` (`/chat/completions`, `/responses`, `/embeddings`) of the first attempt's upstream, and
 * while one answers 429 or 5xx, or cannot be reached (refused, reset, redirected, no headers within its
 * timeout), the next attempt's: nothing has gone to the client yet, so another model may still serve it
 * (MODEL_FALLBACKS). Any other answer is final, and so is the last attempt's: a 4xx is the caller's, never
 * tried elsewhere. Only the upstream's own key is sent, never the caller's credentials.
 *
 * A stream is returned as it arrives (the caller watches it chunk by chunk), and with `wholeAsStream` so is a
 * successful JSON answer (embeddings: large, and read only for the usage at its end); any other answer,
 * success or error, is read whole here under the same idle timeout and MAX_UPSTREAM_BODY_BYTES, so that a
 * body that stalls or never ends becomes a clean 504 or 502 instead of a hang. An upstream error status
 * passes through with its body, minus the key.
 */
export async function postModel(
  path: string,
  attempts: Attempt[],
  { wholeAsStream = false }: { wholeAsStream?: boolean },
  events: PostEvents = {},
): Promise<UpstreamAnswer> {
  for (let index = 0; ; index++) {
    const attempt = attempts[index];
    if (attempt === undefined) throw new UpstreamUnreachable("The upstream");
    const last = index === attempts.length - 1;
    let upstream: Response;
    try {
      upstream = await send(path, attempt);
    } catch (error) {
      if (last || !(error instanceof UpstreamUnreachable || error instanceof UpstreamTimeout)) throw error;
      events.onFailedAttempt?.(index, error.code);
      continue;
    }
    if (!last && worthAnother(upstream.status)) {
      events.onFailedAttempt?.(index, `status ${upstream.status}`);
      await upstream.body?.cancel().catch(() => {});
      continue;
    }
    return Object.assign(await answerOf(upstream, attempt.target, wholeAsStream, events.onBodyEnd), { attempt: index });
  }
}

/** One POST: no answer headers within the timeout → 504; refused, reset or redirected → 502. */
async function send(path: string, { target, body }: Attempt): Promise<Response> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), target.timeoutMs);
  let upstream: Response;
  try {
    upstream = await fetch(`${target.baseUrl}${path}`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${target.apiKey}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body,
      redirect: "manual",
      signal: abort.signal,
    });
  } catch {
    if (abort.signal.aborted) throw new UpstreamTimeout(labelOf(target), target.timeoutMs);
    throw new UpstreamUnreachable(labelOf(target));
  } finally {
    clearTimeout(timer);
  }
  if (upstream.status >= 300 && upstream.status < 400) {
    await upstream.body?.cancel();
    throw new UpstreamUnreachable(labelOf(target), "answered with a redirect");
  }
  return upstream;
}

async function answerOf(
  upstream: Response,
  target: UpstreamTarget,
  wholeAsStream: boolean,
  onBodyEnd: (end: StreamEnd) => void = () => {},
): Promise<Answer> {
  const headers = new Headers();
  for (const name of PASSED_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const streaming =
    upstream.ok && (wholeAsStream || (headers.get("content-type")?.startsWith("text/event-stream") ?? false));
  if (streaming && upstream.body) return { kind: "stream", status: upstream.status, headers, body: upstream.body };

  const label = labelOf(target);
  const whole = await readAnswer(upstream, target.timeoutMs, label, onBodyEnd);
  // Some servers echo the key they were given in an error (OpenAI masks it, others may not).
  const bytes = upstream.ok
    ? whole
    : new TextEncoder().encode(new TextDecoder().decode(whole).replaceAll(target.apiKey, "[redacted]"));
  return { kind: "whole", status: upstream.status, headers, body: bytes };
}

/** Ends a read of the answer that stalled or broke: logged, the body let go, and the relay's error thrown. */
function brokenOff(
  error: unknown,
  idleMs: number,
  label: string,
  onEnd: (end: StreamEnd) => void,
  cancel: () => unknown,
): never {
  const stall = error instanceof UpstreamStalled;
  onEnd(stall ? "upstream_stalled" : "upstream_broke");
  cancel();
  if (stall) throw new UpstreamTimeout(label, idleMs, "sent nothing more of its answer for");
  throw new UpstreamUnreachable(label, "broke off its answer");
}

/**
 * Reads a whole answer. One that announces its length within the cap (OpenAI's JSON answers do) is read in
 * one native call, under one timer; any other body chunk by chunk (readWhole).
 */
async function readAnswer(
  upstream: Response,
  idleMs: number,
  label: string,
  onEnd: (end: StreamEnd) => void,
): Promise<Uint8Array> {
  const length = Number(upstream.headers.get("content-length") ?? Number.NaN);
  if (!(Number.isInteger(length) && length >= 0 && length <= MAX_UPSTREAM_BODY_BYTES)) {
    return readWhole(upstream.body, idleMs, label, onEnd);
  }
  try {
    return new Uint8Array(await withinIdle(upstream.arrayBuffer(), idleMs));
  } catch (error) {
    return brokenOff(error, idleMs, label, onEnd, () => void upstream.body?.cancel().catch(() => {}));
  }
}

/** Reads a body to its end; each read must bring bytes within `idleMs`, and the whole stay under the cap. */
async function readWhole(
  body: ReadableStream<Uint8Array> | null,
  idleMs: number,
  label: string,
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
        .catch((error: unknown) => brokenOff(error, idleMs, label, onEnd, () => void reads.cancel().catch(() => {})));
      if (part.done) break;
      size += part.value.byteLength;
      if (size > MAX_UPSTREAM_BODY_BYTES) {
        onEnd("upstream_too_large");
        void reads.cancel().catch(() => {});
        throw new UpstreamUnreachable(label, `answered with more than ${MAX_UPSTREAM_BODY_BYTES} bytes`);
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
