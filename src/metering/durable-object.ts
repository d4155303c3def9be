import { DurableObject } from "cloudflare:workers";
import { sameDigest } from "../lib/constant-time";
import {
  applyReport,
  emptyState,
  grant,
  isMoney,
  isValidReport,
  type Lease,
  type LeaseReport,
  type Limits,
  type MeterState,
  type Money,
  type Refusal,
  totalsOf,
} from "./state";

/** A relay key as its Meter knows it (the D1 row stays the record of what was created). */
export type KeyConfig = {
  secretHash: string;
  scopes: string[];
  models: string[] | null;
  userId: string | null;
  budget: { tokens?: number; micros?: number };
  perMinute: number | null;
  expiresAt: string | null;
  revokedAt: string | null;
};

/** What a request asks of its subject's Meter. */
export type AcquireRequest = {
  subject: string;
  leaseId: string;
  /** The request's worst case: its prompt and every output token it wants. */
  need: Money;
  /** The least it is worth sending for: its prompt and the shortest answer (src/metering/demand.ts). */
  least: Money;
  /** Keys: the SHA-256 of the secret presented, checked against the key's. */
  secretHash?: string;
  /** Users and keys without a limit of their own: the limits to apply. Keys: their own override these. */
  limits: Limits;
  /** Reports of earlier leases, sent along instead of in a call of their own. */
  reports: LeaseReport[];
  /** A lease for this one request only (state.ts, `grant`). */
  solo?: boolean;
};

/** What a key's holder may see of its configuration. */
export type KeyView = Pick<KeyConfig, "scopes" | "models" | "userId">;

/**
 * Why a credential was refused: wrong, revoked or expired; or a key this Meter was never told about. `invalid`:
 * the request itself held something a Meter never stores (a number that is not a count), and nothing of it
 * was applied.
 */
export type AuthRefusal = { refused: "unauthorized" } | { refused: "unconfigured" } | { refused: "invalid" };

export type AcquireResult =
  | { ok: true; lease: Lease; key: KeyView | null }
  | { ok: false; refusal: Refusal | AuthRefusal };

/** A budget alert, as the queue carries it to BUDGET_ALERT_WEBHOOK_URL. */
export type BudgetAlert = {
  subject: string;
  threshold: number;
  period: string;
  budget: { tokens?: number; micros?: number };
  committed: Money;
  at: string;
};

const STATE = "state";
const SUBJECT = "subject";
const CONFIG = "config";
const DIRTY = "dirty";
/** How soon after a change the usage totals are written to D1, unless USAGE_FLUSH_SECONDS says otherwise. */
const FLUSH_DELAY_SECONDS = 10;
/** How many days of usage totals a Meter keeps after writing them to D1. */
const KEEP_DAYS = 7;

/**
 * The meter of one subject (`key:<id>`, `user:<id>`, `relay-secret`): its rate, its monthly budget, the
 * leases isolates hold, and its usage totals. One object per subject runs one call at a time, so the budget
 * is exact however many requests race. Every change is stored before the call answers (the object's output
 * gate), so a restart loses nothing granted. Usage totals reach D1 (`usage_daily`) shortly after.
 */
export class Meter extends DurableObject<Env> {
  /** Stores a key's configuration (creation) or its revocation. */
  configure(subject: string, config: KeyConfig): void {
    this.#put(SUBJECT, subject);
    this.#put(CONFIG, config);
  }

  /** Revokes the key: every later acquire is refused; leases already out end within LEASE_MS. */
  revoke(at: string): void {
    const config = this.#get<KeyConfig>(CONFIG);
    if (config && config.revokedAt === null) this.#put(CONFIG, { ...config, revokedAt: at });
  }

  /** Grants a lease for one request, after applying the reports it carries; or refuses. */
  async acquire(request: AcquireRequest): Promise<AcquireResult> {
    const now = Date.now();
    if (!isMoney(request.need) || !isMoney(request.least) || !request.reports.every(isValidReport)) {
      return { ok: false, refusal: { refused: "invalid" } };
    }
    this.#remember(request.subject);
    const config = this.#get<KeyConfig>(CONFIG) ?? null;
    const limits = config ? limitsOfKey(config, request.limits) : request.limits;
    const applied = this.#applyAll(this.#state(now), request.reports, limits, now);
    let result: AcquireResult;
    let state = applied.state;
    const valid =
      request.secretHash === undefined ||
      (config !== null &&
        sameDigest(request.secretHash, config.secretHash) &&
        config.revokedAt === null &&
        (config.expiresAt === null || Date.parse(config.expiresAt) > now));
    if (!valid) {
      result = { ok: false, refusal: { refused: config === null ? "unconfigured" : "unauthorized" } };
    } else {
      const granted = grant(state, request.leaseId, request.need, request.least, limits, now, request.solo === true);
      state = granted.state;
      const key = config ? { scopes: config.scopes, models: config.models, userId: config.userId } : null;
      result = "refusal" in granted ? { ok: false, refusal: granted.refusal } : { ok: true, lease: granted.lease, key };
    }
    this.#save(state);
    await this.#afterReports(applied, limits, now);
    return result;
  }

  /** Applies reports that no acquire carried (a lease that ran out, a request that finished late). */
  async report(subject: string, reports: LeaseReport[], fallback: Limits): Promise<void> {
    const now = Date.now();
    this.#remember(subject);
    const config = this.#get<KeyConfig>(CONFIG) ?? null;
    const limits = config ? limitsOfKey(config, fallback) : fallback;
    const valid = reports.filter(isValidReport);
    if (valid.length < reports.length) {
      console.error(
        JSON.stringify({ level: "error", msg: "meter report refused", reports: reports.length - valid.length }),
      );
    }
    const applied = this.#applyAll(this.#state(now), valid, limits, now);
    this.#save(applied.state);
    await this.#afterReports(applied, limits, now);
  }

  /** The state, for the tests and the admin's view of a subject. */
  snapshot(): MeterState | undefined {
    return this.#get<MeterState>(STATE);
  }

  /** Writes the changed usage totals to D1: whole values, so writing one twice changes nothing. */
  override async alarm(): Promise<void> {
    // Unknown until this run ends (the runtime retries an alarm that throws).
    this.#alarmSet = undefined;
    const subject = this.#get<string>(SUBJECT);
    const dirty = this.#get<string[]>(DIRTY) ?? [];
    const state = this.#get<MeterState>(STATE);
    if (!subject || !state || dirty.length === 0) return;
    const statements = dirty.flatMap((key) => {
      if (!Object.hasOwn(state.usage, key)) return [];
      const totals = totalsOf(state.usage, key);
      const bar = key.indexOf("|");
      const [day, model] = [key.slice(0, bar), key.slice(bar + 1)];
      return [
        this.env.DB.prepare(
          `INSERT INTO usage_daily (day, subject, model, requests, prompt_tokens, completion_tokens, cost_micros,
            unpriced_requests, estimated_requests)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, subject, model) DO UPDATE SET
          requests = excluded.requests, prompt_tokens = excluded.prompt_tokens,
          completion_tokens = excluded.completion_tokens, cost_micros = excluded.cost_micros,
          unpriced_requests = excluded.unpriced_requests, estimated_requests = excluded.estimated_requests`,
        ).bind(
          day,
          subject,
          model,
          totals.requests,
          totals.promptTokens,
          totals.completionTokens,
          totals.micros,
          totals.unpriced,
          totals.estimated,
        ),
      ];
    });
    await this.env.DB.batch(statements);
    // Only what was written is clean: a report that arrived meanwhile keeps its key dirty.
    const latest = this.#get<MeterState>(STATE)?.usage ?? {};
    const still = (this.#get<string[]>(DIRTY) ?? []).filter(
      (key) =>
        !Object.hasOwn(state.usage, key) ||
        !Object.hasOwn(latest, key) ||
        totalsOf(latest, key).requests !== totalsOf(state.usage, key).requests,
    );
    this.#put(DIRTY, still);
    this.#forgetOldDays(still);
    this.#alarmSet = still.length > 0;
    if (this.#alarmSet) await this.ctx.storage.setAlarm(Date.now() + this.#flushDelayMs());
  }

  /**
   * What this object has read or written of its storage, kept in memory: the object is storage's only writer,
   * so a value read once stays true until it writes it again, and a call reads nothing twice.
   */
  #cache = new Map<string, unknown>();

  #get<T>(key: string): T | undefined {
    if (!this.#cache.has(key)) this.#cache.set(key, this.ctx.storage.kv.get<T>(key));
    return this.#cache.get(key) as T | undefined;
  }

  #put(key: string, value: unknown): void {
    this.ctx.storage.kv.put(key, value);
    this.#cache.set(key, value);
  }

  /** Whether an alarm is set (known in memory once this object has looked): saves a storage read per call. */
  #alarmSet: boolean | undefined;

  #flushDelayMs(): number {
    const seconds = Number(this.env.USAGE_FLUSH_SECONDS);
    return (Number.isFinite(seconds) && seconds > 0 ? seconds : FLUSH_DELAY_SECONDS) * 1000;
  }

  #remember(subject: string): void {
    if (this.#get<string>(SUBJECT) !== subject) this.#put(SUBJECT, subject);
  }

  /**
   * Drops the usage totals of days written to D1 more than a week ago, so that the stored state stays small.
   * A report is at most seconds late (a lease lasts LEASE_MS), so no later report adds to those days.
   */
  #forgetOldDays(dirty: string[]): void {
    const state = this.#get<MeterState>(STATE);
    if (!state) return;
    const oldest = new Date(Date.now() - KEEP_DAYS * 86_400_000).toISOString().slice(0, 10);
    const old = Object.keys(state.usage).filter((key) => key.slice(0, 10) < oldest && !dirty.includes(key));
    if (old.length === 0) return;
    const usage = { ...state.usage };
    for (const key of old) delete usage[key];
    this.#save({ ...state, usage });
  }

  #state(now: number): MeterState {
    return this.#get<MeterState>(STATE) ?? emptyState(now);
  }

  #save(state: MeterState): void {
    this.#put(STATE, state);
  }

  #applyAll(state: MeterState, reports: LeaseReport[], limits: Limits, now: number) {
    const alerts: number[] = [];
    const days = new Set<string>();
    let next = state;
    for (const report of reports) {
      const applied = applyReport(next, report, limits, now);
      next = applied.state;
      alerts.push(...applied.alerts);
      for (const item of report.settled) days.add(`${item.day}|${item.used.model}`);
    }
    return { state: next, alerts, dirty: [...days] };
  }

  /** Marks the usage totals to write to D1 and sends the alerts the reports crossed. */
  async #afterReports(applied: { state: MeterState; alerts: number[]; dirty: string[] }, limits: Limits, now: number) {
    if (applied.dirty.length > 0) {
      const dirty = new Set([...(this.#get<string[]>(DIRTY) ?? []), ...applied.dirty]);
      this.#put(DIRTY, [...dirty]);
      this.#alarmSet ??= (await this.ctx.storage.getAlarm()) !== null;
      if (!this.#alarmSet) {
        await this.ctx.storage.setAlarm(now + this.#flushDelayMs());
        this.#alarmSet = true;
      }
    }
    for (const threshold of applied.alerts) await this.#alert(applied.state, threshold, limits, now);
  }

  async #alert(state: MeterState, threshold: number, limits: Limits, now: number): Promise<void> {
    if (!this.env.BUDGET_ALERT_WEBHOOK_URL) return;
    const alert: BudgetAlert = {
      subject: this.#get<string>(SUBJECT) ?? "unknown",
      threshold,
      period: state.period,
      budget: limits.budget,
      committed: state.committed,
      at: new Date(now).toISOString(),
    };
    // The queue delivers and retries; the meter only hands the alert over. A queue that refuses it must not
    // fail the request that crossed the threshold: the alert is logged as lost instead.
    try {
      await this.env.BUDGET_ALERTS.send(alert);
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "budget alert not queued",
          threshold,
          error: error instanceof Error ? error.name : "unknown",
        }),
      );
    }
  }
}

function limitsOfKey(config: KeyConfig, fallback: Limits): Limits {
  return { perMinute: config.perMinute ?? fallback.perMinute, budget: config.budget, queueMs: fallback.queueMs };
}
