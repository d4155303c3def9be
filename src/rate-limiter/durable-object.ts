import { DurableObject } from "cloudflare:workers";
import { type Decision, gcra } from "../lib/gcra";

const TAT_KEY = "tat";

/**
 * One instance per scope and key (for example `chat:ip:<hash>`). A Durable Object runs one call at a
 * time, so the count is exact under concurrency and shared by every isolate, unlike a per-isolate Map.
 */
export class RateLimiter extends DurableObject<Env> {
  #tat: number;
  #cleanupScheduled = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#tat = ctx.storage.kv.get<number>(TAT_KEY) ?? 0;
  }

  /** Counts one request against `limit` per `periodMs` and says whether it may pass. */
  async consume(limit: number, periodMs: number): Promise<Decision> {
    const decision = gcra(this.#tat, Date.now(), limit, periodMs);
    if (decision.allowed) {
      this.#tat = decision.tat;
      this.ctx.storage.kv.put(TAT_KEY, decision.tat);
      if (!this.#cleanupScheduled) {
        this.#cleanupScheduled = true;
        await this.ctx.storage.setAlarm(decision.tat);
      }
    }
    return decision;
  }

  /** Deletes the bucket once it is full again, so idle keys cost no storage. */
  override async alarm(): Promise<void> {
    if (this.#tat <= Date.now()) {
      this.#cleanupScheduled = false;
      await this.ctx.storage.deleteAll();
    } else {
      await this.ctx.storage.setAlarm(this.#tat);
    }
  }
}
