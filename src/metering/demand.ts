import { type Price, ratesAt } from "./prices";
import type { Money } from "./state";

/**
 * What a request may cost, before it is sent: its prompt, whatever it answers, plus `perToken` for each output
 * token it is allowed per choice. It asks for `want` output tokens per choice and is worth sending with no
 * fewer than `least`: when what is left of a budget cannot pay for `want`, the request runs with its output cap
 * lowered to what it can pay for, and is refused only when not even `least` fits. Micro-dollars may be
 * fractions here; a reservation rounds them up.
 */
export type Demand = { prompt: Money; perToken: Money; want: number; least: number };

/** Room to spend: null where the subject has no budget of that kind. */
export type Room = { tokens: number | null; micros: number | null };

/** The fewest output tokens per choice a request is cut down to before it is refused instead. */
export const LEAST_ANSWER_TOKENS = 16;

/** A request that costs nothing (a trigger): it only takes a slot of the rate. */
export const NO_DEMAND: Demand = {
  prompt: { tokens: 0, micros: 0 },
  perToken: { tokens: 0, micros: 0 },
  want: 0,
  least: 0,
};

/**
 * The demand of a request with a prompt of (at most) `promptTokens`, `choices` answers of at most `want`
 * tokens each, at `price` (none: it costs no money the relay can count). The prompt is priced at the full
 * input rate: how much of it the upstream has cached is only known afterwards.
 */
export function demandOf(promptTokens: number, price: Price | undefined, choices: number, want: number): Demand {
  const rate = price === undefined ? { input: 0, output: 0 } : ratesAt(price, promptTokens);
  return {
    prompt: { tokens: promptTokens, micros: promptTokens * rate.input },
    perToken: { tokens: choices, micros: choices * rate.output },
    want,
    least: Math.min(want, LEAST_ANSWER_TOKENS),
  };
}

/** What the request reserves with an output cap of `cap` tokens per choice: whole tokens, micros rounded up. */
export function costAt(demand: Demand, cap: number): Money {
  return {
    tokens: demand.prompt.tokens + cap * demand.perToken.tokens,
    micros: Math.ceil(demand.prompt.micros + cap * demand.perToken.micros),
  };
}

/** The largest output cap per choice, at most `want`, whose cost fits in `room`; undefined below `least`. */
export function capWithin(demand: Demand, room: Room): number | undefined {
  let cap = demand.want;
  for (const kind of ["tokens", "micros"] as const) {
    const left = room[kind];
    if (left === null) continue;
    const per = demand.perToken[kind];
    const spare = left - demand.prompt[kind];
    if (spare < 0) return undefined;
    if (per > 0) cap = Math.min(cap, Math.floor(spare / per));
  }
  // Fractions of a micro-dollar: step down where rounding up the cost still passes the room.
  while (cap >= demand.least && !fitsIn(costAt(demand, cap), room)) cap -= 1;
  return cap >= demand.least ? cap : undefined;
}

/** Whether `money` fits in `room`. */
export function fitsIn(money: Money, room: Room): boolean {
  return (room.tokens === null || money.tokens <= room.tokens) && (room.micros === null || money.micros <= room.micros);
}
