import { createMiddleware } from "hono/factory";
import type { Variables } from "../env";
import { RateLimited, RelayError, UpstreamRateLimited } from "../errors";
import type { Logger } from "../lib/log";
import { writeAudit } from "./store";

/**
 * What a handler tells the audit trail about its attempt; a refusal before the handler keeps the defaults.
 * `actor` replaces the route's when the handler knows who acted more precisely (a relay key).
 */
export type AuditDraft = { target: string; dryRun: boolean; outcome?: string; actor?: string };

/** The context of a route audited with `auditAttempt()`: the draft sits at `c.get("audit")`. */
export type AuditedEnv = { Bindings: Env; Variables: Variables & { audit: AuditDraft } };

type AuditAttemptOptions = {
  actor: string;
  action: string;
  /** The target known from configuration, before the body is read (the handler refines it). */
  target: (env: Env) => string;
};

/**
 * Writes one audit row for every attempt on a route, whatever answers it: the handler's success, or a
 * refusal by a middleware after this one (IP allowlist, rate limit, auth, validation) or an upstream
 * failure; of the requests a rate limit refuses, only the first of each window. It sits first on the route so that refusals are recorded too (docs/api.md, "Conventions").
 * Outcome: the handler's, else "ok" for a success, "refused:<code>" for 4xx, "failed:<code>" for 5xx and for
 * an upstream's rate limit (a 429 that GitHub, not the relay, decided: the attempt was made and failed).
 */
export function auditAttempt({ actor, action, target }: AuditAttemptOptions) {
  return createMiddleware<AuditedEnv>(async function auditAttempt(c, next) {
    const draft: AuditDraft = { target: target(c.env), dryRun: false };
    c.set("audit", draft);
    await next();
    // A flood of refused requests leaves one row per bucket and window, not one row each.
    if (c.error instanceof RateLimited && !c.error.firstInWindow) return;
    const outcome = draft.outcome ?? outcomeOf(c.res.status, c.error);
    await recordAttempt(c.env.DB, c.get("log"), {
      actor: draft.actor ?? actor,
      action,
      draft,
      outcome,
      requestId: c.get("requestId"),
    });
  });
}

/**
 * Writes one attempt's audit row; a failed write is logged, never thrown: the answer stands (the GitHub
 * call already happened), and the missing row must be visible in the logs.
 */
export async function recordAttempt(
  db: D1Database,
  log: Logger,
  attempt: { actor: string; action: string; draft: AuditDraft; outcome: string; requestId: string },
): Promise<void> {
  const { actor, action, draft, outcome, requestId } = attempt;
  try {
    await writeAudit(db, {
      at: new Date(),
      actor,
      action,
      target: draft.target,
      outcome,
      dryRun: draft.dryRun,
      requestId,
    });
  } catch (error) {
    log.event("error", "audit write failed", {
      action,
      outcome,
      error: error instanceof Error ? error.name : "unknown",
    });
  }
}

/** An attempt's outcome from its answer: "ok", "refused:<code>" for 4xx, "failed:<code>" for 5xx and upstream limits. */
export function outcomeOf(status: number, error: Error | undefined): string {
  if (status < 400) return "ok";
  const code = error instanceof RelayError ? error.code : "internal_error";
  const failed = status >= 500 || error instanceof UpstreamRateLimited;
  return `${failed ? "failed" : "refused"}:${code}`;
}
