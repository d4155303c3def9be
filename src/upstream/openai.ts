import { UpstreamTimeout, UpstreamUnreachable } from "../errors";

export type OpenAIConfig = { baseUrl: string; apiKey: string; timeoutMs: number };

const UPSTREAM = "The OpenAI upstream";

/**
 * Response headers worth passing on; everything else (cookies, upstream org ids, limits) stays here. The
 * upstream's `Cache-Control` (`no-cache` on a stream) stays too: an authenticated answer is `no-store`.
 */
const PASSED_HEADERS = ["content-type"];

/**
 * POSTs a chat completion upstream and returns the answer as it arrives, stream included. Only the relay's
 * own key is sent, never the caller's credentials. No answer headers within `timeoutMs` → 504; refused,
 * reset or redirected → 502; an upstream error status passes through with its body, minus the key.
 */
export async function postChatCompletion(config: OpenAIConfig, body: string): Promise<Response> {
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
  if (upstream.ok) return new Response(upstream.body, { status: upstream.status, headers });

  // Error bodies are small JSON; some servers echo the key they were given (OpenAI masks it, others may not).
  const text = await readErrorBody(upstream);
  return new Response(text.replaceAll(config.apiKey, "[redacted]"), { status: upstream.status, headers });
}

async function readErrorBody(upstream: Response): Promise<string> {
  try {
    return await upstream.text();
  } catch {
    throw new UpstreamUnreachable(UPSTREAM, "broke off its error answer");
  }
}
