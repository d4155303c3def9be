import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { RouteSpec } from "../../src/middleware/guard";
import { ROUTES, type RouteName } from "../../src/routes";
import { answerProblems, snapshot } from "../fuzz/oracle";
import { buildRequest, FUZZ_ORIGIN, type FuzzCase, fuzzCase } from "../fuzz/requests";
import { githubScenario, openaiScenario, relay, uniqueId } from "../support/relay";
import { newContext, type RequestContext, VALID_REQUESTS } from "../support/valid-requests";

/**
 * Property-based fuzzing of every route of ROUTES. For each route, cases are generated from the route's valid
 * request (test/support/valid-requests.ts, mutated by test/fuzz/requests.ts): unchanged, with one to three fields, parameters or headers
 * replaced by random values (the credential stays right, so the input reaches validation), or with many
 * things changed (method, path, credential, whole body: wrong types, deep nesting, huge strings, invalid
 * UTF-8). Every answer must hold the properties of test/fuzz/oracle.ts.
 *
 * Reproducible: FUZZ_SEED (default below, shown in the suite's name) seeds every route's run, FUZZ_RUNS sets
 * the cases per route (docs/development.md). A failure reports the shrunk counterexample and the FUZZ_SEED
 * and FUZZ_RUNS that replay it. A case that gets no answer within CASE_TIMEOUT_MS fails too.
 */

const fuzzEnv = env as unknown as { FUZZ_SEED?: string; FUZZ_RUNS?: string };
const DEFAULT_SEED = 20_261_125;
const DEFAULT_RUNS = 60;

function integerOr(value: string | undefined, fallback: number): number {
  const parsed = Number.parseInt(value ?? "", 10);
  return Number.isSafeInteger(parsed) ? parsed : fallback;
}

const SEED = integerOr(fuzzEnv.FUZZ_SEED, DEFAULT_SEED);
const RUNS = Math.max(1, integerOr(fuzzEnv.FUZZ_RUNS, DEFAULT_RUNS));

/** Each route's own seed, from the run's seed and the route's name (adding a route changes no other run). */
function seedOf(name: string): number {
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return (SEED ^ hash) | 0;
}

/** High limits, so that the limiter does not hide what a route does with its input; see the 429 test. */
const NO_LIMITS = {
  RATE_LIMIT_REQUESTS: "1000000",
  PUBLIC_RATE_LIMIT: "1000000",
  CONNECTOR_RATE_LIMIT: "1000000",
  TRIGGER_RATE_LIMIT: "1000000",
};

/** How long one case may take before it counts as a hang. */
const CASE_TIMEOUT_MS = 5_000;

const routes = Object.entries(ROUTES) as Array<[RouteName, RouteSpec]>;

/** One client IP per route (cases may send another CF-Connecting-IP). */
const ipOf = (name: RouteName) => `10.77.${routes.findIndex(([n]) => n === name)}.1`;

type Outcome = { status: number; code: string | undefined; problems: string[]; description: string; body: string };
type RunOptions = { vars?: Record<string, string>; extraSecrets?: readonly string[]; ip?: string };

/**
 * Sends one case with fresh stand-in scenarios ("ok": any 5xx is the relay's) and returns its problems:
 * those of the answer, and, for a refusal, anything that reached an upstream or storage.
 */
async function runCase(
  name: RouteName,
  spec: RouteSpec,
  fuzz: FuzzCase,
  { vars = NO_LIMITS, extraSecrets = [], ip = ipOf(name) }: RunOptions = {},
): Promise<Outcome> {
  const openai = openaiScenario("ok");
  const github = githubScenario("ok");
  // The route's context (its setup ran once), with a webhook event id of the case's own.
  const context = { ...contextOf(name), eventId: uniqueId("evt") };
  const built = await buildRequest(name, spec, fuzz, context, ip);
  const before = await snapshot(name === "libraryUpload");
  const answer = relay(built.target, built.init, {
    OPENAI_BASE_URL: openai.baseUrl,
    GITHUB_API_URL: github.apiUrl,
    ORIGIN_ALLOWLIST: FUZZ_ORIGIN,
    ...vars,
  }).then(async (response) => ({ response, body: await response.text() }));
  // A request that never gets an answer is a failure too (and must not stall the whole run).
  let timer: number | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, CASE_TIMEOUT_MS);
  });
  const answered = await Promise.race([answer, timeout]);
  clearTimeout(timer);
  if (answered === undefined) {
    return {
      status: 0,
      code: undefined,
      problems: [`no answer within ${CASE_TIMEOUT_MS} ms`],
      description: built.description,
      body: "",
    };
  }
  const { response, body } = answered;
  const problems = answerProblems(
    built.method,
    spec.path,
    response.status,
    response.headers,
    body,
    extraSecrets,
    spec.errors,
    pathSeen(built.target),
  );
  if (response.status >= 400) {
    const [toOpenAI, toGitHub, after] = await Promise.all([
      openai.received(),
      github.received(),
      snapshot(name === "libraryUpload"),
    ]);
    if (toOpenAI.length > 0) problems.push(`refused with ${response.status} but sent ${toOpenAI.length} to OpenAI`);
    if (toGitHub.length > 0) problems.push(`refused with ${response.status} but sent ${toGitHub.length} to GitHub`);
    if (after.rows !== before.rows) problems.push(`refused with ${response.status} but the ledger changed`);
    if (after.libraryKeys !== before.libraryKeys) problems.push(`refused with ${response.status} but R2 changed`);
  }
  if (response.status === 429 && /"code":"rate_limited"/.test(body) && !response.headers.has("RateLimit-Policy")) {
    problems.push("a 429 from the limiter without RateLimit-Policy");
  }
  const code = /"code":"([a-z0-9_]+)"/.exec(body)?.[1];
  return { status: response.status, code, problems, description: built.description, body };
}

/** The path as the Worker's router reads it: percent-escapes of unreserved characters decoded (`/%761` is `/v1`). */
function pathSeen(target: string): string {
  const { pathname } = new URL(target, "https://relay.test");
  try {
    return decodeURI(pathname);
  } catch {
    return pathname;
  }
}

/** Runs `runs` cases of one route through fast-check; a failure throws with the seed and counterexample. */
async function fuzzRoute(name: RouteName, spec: RouteSpec, runs: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(fuzzCase, async (fuzz) => {
      const outcome = await runCase(name, spec, fuzz);
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      if (outcome.problems.length > 0) {
        throw new Error(
          `${outcome.description} → ${outcome.status}: ${outcome.problems.join("; ")} ` +
            `(FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} replays this run)\n${outcome.body.slice(0, 400)}`,
        );
      }
    }),
    { seed: seedOf(name), numRuns: runs },
  );
  return statuses;
}

const contexts = new Map<RouteName, RequestContext>();

/** The context of a route's cases: created, and its valid request's state set up, before the cases run. */
function contextOf(name: RouteName): RequestContext {
  const context = contexts.get(name);
  if (!context) throw new Error(`no context for ${name}: createContexts() has not run`);
  return context;
}

async function createContexts(): Promise<void> {
  for (const [name] of routes) {
    const context = newContext();
    await VALID_REQUESTS[name].setup?.(context);
    contexts.set(name, context);
  }
}

describe(`fuzz every route of ROUTES (FUZZ_SEED=${SEED}, FUZZ_RUNS=${RUNS} per route)`, () => {
  beforeAll(createContexts, 60_000);

  it("has a valid request for every route, and each one is accepted", async () => {
    expect(Object.keys(VALID_REQUESTS).sort()).toEqual(Object.keys(ROUTES).sort());
    for (const [name, spec] of routes) {
      for (const variant of [0, 1, 2, 3, 4, 5]) {
        const outcome = await runCase(name, spec, { mode: "valid", variant, mutations: [] });
        expect(outcome.problems, `${name} variant ${variant}: ${outcome.description}`).toEqual([]);
        // A valid request succeeds, except where its variant asks a question whose answer is a refusal
        // (an unentitled reader: 402; nothing left to revoke: 404), or where success is a redirect.
        const refusalIsAnswer = name === "libraryItem" || name === "revoke" || name === "revokeGrant";
        expect(outcome.status, `${name} variant ${variant}: ${outcome.body.slice(0, 300)}`).toBeLessThan(
          refusalIsAnswer ? 405 : VALID_REQUESTS[name].redirects ? 303 : 300,
        );
      }
    }
  }, 60_000);

  for (const [name, spec] of routes) {
    it(
      `${spec.method} ${spec.path}: no 5xx, the error shape on 4xx, no secret or stack trace, nothing written or sent when refused`,
      async () => {
        const statuses = await fuzzRoute(name, spec, RUNS);
        // The fuzz must reach the route, not only the router: some answer other than 404/405.
        const reached = [...statuses.keys()].filter((status) => status !== 404 && status !== 405);
        expect(reached.length, `statuses ${JSON.stringify([...statuses])}`).toBeGreaterThan(0);
      },
      60_000 + RUNS * 1_000,
    );
  }

  it("429s of every rate-limited route carry the error shape and Retry-After, and send nothing upstream", async () => {
    // Limits of 2 per minute, each route from an IP of its own. The connector's token is replaced, so that its
    // bucket (one per valid token) is not the one the other tests use and the connector counts per IP.
    const token = uniqueId("fz-connector-token");
    const vars = {
      RATE_LIMIT_REQUESTS: "2",
      PUBLIC_RATE_LIMIT: "2",
      CONNECTOR_RATE_LIMIT: "2",
      TRIGGER_RATE_LIMIT: "2",
      CHATGPT_BEARER_TOKEN: token,
    };
    const limited = routes.filter(([, spec]) => spec.rateLimit !== null);
    expect(limited.length).toBeGreaterThan(0);
    for (const [index, [name, spec]] of limited.entries()) {
      const options = { vars, extraSecrets: [token], ip: `10.78.${index}.${Math.floor(Math.random() * 250) + 1}` };
      const valid: FuzzCase = { mode: "valid", variant: 1, mutations: [] };
      const first: Outcome[] = [];
      for (let i = 0; i < 3; i++) first.push(await runCase(name, spec, valid, options));
      // Rate limiting comes before authentication and validation: the third request is refused whatever it is.
      expect(
        first.map((o) => `${o.status} ${o.code}`),
        name,
      ).toEqual([expect.not.stringMatching(/^429/), expect.not.stringMatching(/^429/), "429 rate_limited"]);
      const cases = fc.sample(fuzzCase, { seed: seedOf(`${name}:429`), numRuns: 8 });
      for (const fuzz of cases) first.push(await runCase(name, spec, fuzz, options));
      for (const outcome of first) expect(outcome.problems, `${name}: ${outcome.description}`).toEqual([]);
    }
  }, 120_000);
});
