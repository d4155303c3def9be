import {
  Conflict,
  UnprocessableContent,
  UpstreamRateLimited,
  UpstreamTimeout,
  UpstreamUnreachable,
} from "../../errors";
import { retryDelaySeconds } from "../../lib/backoff";
import { readConfig } from "../../lib/config";
import { sha256Hex } from "../../lib/constant-time";
import { dispatchRepositoryEvent, type GitHubConfig, type Repository } from "../../upstream/github";
import { dispatchQueueConfig } from "./schema";
import {
  answerDispatched,
  answerQueued,
  type DispatchRecord,
  type DispatchSource,
  findByIdempotencyKey,
  removeDispatch,
  reserveDispatch,
} from "./store";

/** A repository_dispatch a front door has validated and routed, ready to send. */
export type PlannedDispatch = {
  source: DispatchSource;
  /** The credential that asked: only it may read the dispatch's status. */
  subject: string;
  idempotencyKey: string | undefined;
  /** The caller's request as it matters for Idempotency-Key: the same key with another request is refused. */
  input: unknown;
  action: string;
  repository: Repository;
  event: { event_type: string; client_payload?: Record<string, unknown> };
};

/** How a dispatch was answered: GitHub took it, or the queue has it; `replayed` for a repeated Idempotency-Key. */
export type DispatchOutcome = {
  status: "dispatched" | "queued";
  requestId: string;
  repository: string;
  eventType: string;
  replayed: boolean;
};

/**
 * Whether GitHub may take the dispatch if asked again later: it timed out, could not be reached, failed with
 * 5xx or is rate limiting. Its other answers (404, 422, 401, a 403 without a rate limit, a redirect) will not
 * change by waiting.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof UpstreamUnreachable) return error.transient;
  return error instanceof UpstreamTimeout || error instanceof UpstreamRateLimited;
}

/** The longest delay a queue message may ask for (Cloudflare Queues: 12 hours). */
const MAX_DELAY_SECONDS = 43_200;

/**
 * How long the queue waits before attempt `attempt + 1`: the doubling backoff from DISPATCH_RETRY_SECONDS, or
 * GitHub's Retry-After when it asks for longer. A base of 0 retries at once whatever GitHub asked (tests).
 */
export function retryDelay(error: unknown, base: number, attempt: number): number {
  const backoff = retryDelaySeconds(base, attempt);
  if (base === 0 || !(error instanceof UpstreamRateLimited)) return backoff;
  return Math.min(MAX_DELAY_SECONDS, Math.max(backoff, error.retryAfterSeconds));
}

/**
 * Sends a dispatch to GitHub, or keeps it when GitHub fails for a while (timeout, reset, 5xx, rate limit): the
 * dispatch is stored in D1 and DISPATCH_QUEUE retries it (deliverDispatches). A permanent refusal (404, 422,
 * 401, …) is thrown as before and nothing stays. With an Idempotency-Key, a repeated request answers what the
 * first one did and sends nothing; the same key with another request is 422, and while the first is still
 * waiting for GitHub, 409.
 */
export async function dispatchOrQueue(
  env: Env,
  github: GitHubConfig,
  requestId: string,
  planned: PlannedDispatch,
): Promise<DispatchOutcome> {
  const { DISPATCH_RETRY_SECONDS } = readConfig(env, dispatchQueueConfig);
  const repository = `${planned.repository.owner}/${planned.repository.repo}`;
  const fingerprint = await sha256Hex(
    JSON.stringify([planned.source, planned.action, repository, planned.event.event_type, planned.input]),
  );
  const now = new Date();
  const reserved = await reserveDispatch(
    env.DB,
    {
      request_id: requestId,
      source: planned.source,
      subject: planned.subject,
      idempotency_key: planned.idempotencyKey ?? null,
      fingerprint,
      action: planned.action,
      repository,
      event_type: planned.event.event_type,
      client_payload: JSON.stringify(planned.event.client_payload ?? null),
    },
    now,
  );
  if (!reserved) {
    // The subject's Idempotency-Key is taken (a retry, or the same request sent twice at once).
    const key = planned.idempotencyKey ?? "";
    const earlier = await findByIdempotencyKey(env.DB, planned.subject, key);
    if (earlier) return replay(earlier, fingerprint);
    throw new Conflict("A request with this Idempotency-Key was just given up; retry", "idempotency_key_in_use");
  }

  try {
    await dispatchRepositoryEvent(github, planned.repository, planned.event);
  } catch (error) {
    if (!isTransient(error)) {
      await removeDispatch(env.DB, requestId);
      throw error;
    }
    // Marked queued before the message is sent, so that the consumer never meets a dispatch still `pending`.
    await answerQueued(env.DB, requestId, now);
    try {
      await env.DISPATCH_QUEUE.send(
        { request_id: requestId },
        { delaySeconds: retryDelay(error, DISPATCH_RETRY_SECONDS, 1) },
      );
    } catch {
      // The queue did not take it either: answer GitHub's failure, as without a queue.
      await removeDispatch(env.DB, requestId);
      throw error;
    }
    return { status: "queued", requestId, repository, eventType: planned.event.event_type, replayed: false };
  }
  await answerDispatched(env.DB, requestId, now);
  return { status: "dispatched", requestId, repository, eventType: planned.event.event_type, replayed: false };
}

/** The audit outcome of an accepted dispatch: "ok" (GitHub took it), "queued", or "replayed" (a repeated key). */
export function auditOutcomeOf(outcome: DispatchOutcome): string {
  if (outcome.replayed) return "replayed";
  return outcome.status === "queued" ? "queued" : "ok";
}

/** The first answer of an Idempotency-Key again, if the request is the same and that answer was given. */
function replay(earlier: DispatchRecord, fingerprint: string): DispatchOutcome {
  if (earlier.fingerprint !== fingerprint) {
    throw new UnprocessableContent(
      "Idempotency-Key was already used for a different request",
      "idempotency_key_reused",
    );
  }
  if (earlier.answered === null) {
    throw new Conflict(
      "A request with this Idempotency-Key is still waiting for GitHub; retry shortly",
      "idempotency_key_in_use",
    );
  }
  return {
    status: earlier.answered,
    requestId: earlier.request_id,
    repository: earlier.repository,
    eventType: earlier.event_type,
    replayed: true,
  };
}
