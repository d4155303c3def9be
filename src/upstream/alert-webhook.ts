import { standardWebhookKey, standardWebhookSignature } from "../lib/hmac";

/** Where budget alerts go, and the Standard Webhooks secret they are signed with. */
export type AlertWebhookConfig = { url: string; secret: string; timeoutMs: number };

/**
 * POSTs one signed event to the operator's alert receiver (Standard Webhooks: `webhook-id`,
 * `webhook-timestamp`, `webhook-signature`), signed with Web Crypto. True when it answered 2xx; anything else
 * (an error status, a reset, no answer in time, a secret that is not a Standard Webhooks secret) is false, and
 * the queue tries again later.
 */
export async function postAlert(config: AlertWebhookConfig, id: string, payload: string, now: Date): Promise<boolean> {
  const key = standardWebhookKey(config.secret);
  if (key === undefined) return false;
  const timestamp = Math.floor(now.getTime() / 1000);
  const signature = await standardWebhookSignature(key, id, timestamp, payload);
  try {
    const response = await fetch(config.url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "soul-mirror-relay",
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signature,
      },
      body: payload,
      redirect: "manual",
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
