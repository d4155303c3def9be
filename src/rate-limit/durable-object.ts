import { DurableObject } from "cloudflare:workers";
import { type Decision, gcra } from "./gcra";

/** A limiter's decision, and whether a refusal is the first of its window (the only one worth auditing). */
export type LimitDecision = Decision & { firstRefusal: boolean };

/** A lease of slots: how many requests of the bucket an isolate may admit on its own (0 when refused). */
export type LeaseDecision = LimitDecision & { slots: number };

const TAT_KEY = "tat";
/** How long a count may live only in memory before it is written to storage. */
const SAVE_DELAY_MS = 1000;

/**
 * One instance per scope and key (for example `chat:<ip hash>`). A Durable Object runs one call at a time,
 * so the count is exact under concurrency and shared by every isolate, unlike a per-isolate Map.
 *
 * The state (one number) is kept in memory and written to storage at most once per SAVE_DELAY_MS: a write
 * per request would make every caller wait for an SQLite commit (measured: 3× less throughput, BENCHMARKS.md).
 * Eviction happens only after the object has been idle for longer than that, so only a crash of the
 * machine can forget the counts of the last second.
 */
export class RateLimiter extends DurableObject<Env> {
  #tat: number;
  #saveScheduled = false;
  /** When a refusal was last reported as the first of its window; in memory only (eviction: one more row). */
  #refusalReportedAt = Number.NEGATIVE_INFINITY;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#tat = ctx.storage.kv.get<number>(TAT_KEY) ?? 0;
  }

  /**
   * Counts one request against `limit` per `periodMs` and says whether it may pass (perhaps after waiting up
   * to `queueMs` for its slot), and for a refusal whether it is the first one in `periodMs`.
   */
  consume(limit: number, periodMs: number, queueMs = 0): LimitDecision {
    const now = Date.now();
    const decision = gcra(this.#tat, now, limit, periodMs, queueMs);
    if (decision.allowed) {
      this.#tat = decision.tat;
      this.#scheduleSave();
      return { ...decision, firstRefusal: false };
    }
    const firstRefusal = now - this.#refusalReportedAt >= periodMs;
    if (firstRefusal) this.#refusalReportedAt = now;
    return { ...decision, firstRefusal };
  }

  /**
   * Like `consume`, but grants up to `wanted` slots at once: a lease its isolate spends without calling again
   * (src/rate-limit/leases.ts). `unused` slots of the isolate's previous lease of this bucket come back first.
   * A queued request (one told to wait) gets its own slot only.
   */
  lease(limit: number, periodMs: number, queueMs: number, wanted: number, unused: number): LeaseDecision {
    const interval = periodMs / limit;
    if (unused > 0) this.#tat = Math.max(0, this.#tat - Math.min(unused, limit) * interval);
    const decision = this.consume(limit, periodMs, queueMs);
    if (!decision.allowed) return { ...decision, slots: 0 };
    const slots = decision.waitMs > 0 ? 1 : Math.max(1, Math.min(wanted, decision.remaining + 1));
    this.#tat += (slots - 1) * interval;
    return { ...decision, tat: this.#tat, remaining: decision.remaining - (slots - 1), slots };
  }

  #scheduleSave(): void {
    if (this.#saveScheduled) return;
    this.#saveScheduled = true;
    setTimeout(() => {
      this.#saveScheduled = false;
      this.ctx.storage.kv.put(TAT_KEY, this.#tat);
      void this.ctx.storage.setAlarm(this.#tat);
    }, SAVE_DELAY_MS);
  }

  /** Deletes the bucket once it is full again, so idle keys cost no storage. */
  override async alarm(): Promise<void> {
    if (this.#tat <= Date.now()) await this.ctx.storage.deleteAll();
    else await this.ctx.storage.setAlarm(this.#tat);
  }
}
