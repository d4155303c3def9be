import { describe, expect, it } from "vitest";
import { ROUTES, type RouteName } from "../../src/routes";
import { ADMIN_TOKEN, CHATGPT_BEARER_TOKEN, RELAY_SECRET, TEST_SECRETS } from "../secrets";
import { hubSignature } from "../support/dispatches";
import { paymentHeaders, stripeSignature, userJwt } from "../support/ledger";
import { FAR, stored, userWith } from "../support/library";
import { authorizeQuery, openConsent, pkcePair, registerClient } from "../support/oauth";
import { githubScenario, ORIGIN, openaiScenario, relay, uniqueId, uniqueIp } from "../support/relay";
import {
  bodyTextOf,
  credentialIntoForm,
  newContext,
  rightCredential,
  targetOf,
  VALID_REQUESTS,
} from "../support/valid-requests";

/**
 * Security headers on every route of ROUTES, from each route's valid request (test/support/valid-requests.ts):
 * `X-Content-Type-Options: nosniff`, `X-Request-Id`, `Cache-Control: no-store` on authenticated and error
 * answers (library items: `private, no-cache`, so the ETag can be revalidated), and CORS that echoes an
 * allowed origin and never says `*`.
 */

type Vars = Record<string, string | undefined>;
/** One request through the front door: `relay(path, init, vars)`. */
type Call = { path: string; init: RequestInit; vars?: Vars };
type Case = {
  /** A request the route answers with success (2xx); fresh state on every call. */
  success: () => Promise<Call>;
  /** The same route refused: a wrong credential, or the wrong method where the route takes none. */
  error: () => Promise<Call>;
  /** The expected `Cache-Control` of the success answer. */
  cache?: string;
};

const ALLOWED = { ORIGIN_ALLOWLIST: `${ORIGIN}, https://other.test` };
const EVIL_ORIGIN = "https://evil.test";
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

function get(path: string, headers: Record<string, string> = {}, vars?: Vars): Call {
  return { path, init: { headers: { "CF-Connecting-IP": uniqueIp(), ...headers } }, vars };
}

function post(path: string, body: unknown, headers: Record<string, string> = {}, vars?: Vars): Call {
  return {
    path,
    init: {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": uniqueIp(), ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    },
    vars,
  };
}

const hello = { messages: [{ role: "user", content: "Hello" }] };
const repo = { owner: "octo", repo: "hivemind" };

/** A route's valid request (test/support/valid-requests.ts) with its own credential, from a fresh context. */
async function validCall(name: RouteName, credential: "right" | "wrong"): Promise<Call> {
  const spec = ROUTES[name];
  const example = VALID_REQUESTS[name];
  const c = newContext();
  await example.setup?.(c);
  const request = example.request(c, 0);
  const headers: Record<string, string> = { "CF-Connecting-IP": uniqueIp(), ...request.headers };
  if (credential === "right") Object.assign(headers, await rightCredential(spec.auth, request.subject ?? c.user));
  else headers.Authorization = "Bearer not-the-credential";
  const body = bodyTextOf(request);
  if (credential === "right" && spec.auth === "stripe-signature") {
    headers["Stripe-Signature"] = await stripeSignature(body ?? "");
  }
  if (credential === "right" && spec.auth === "standard-webhook") {
    Object.assign(headers, paymentHeaders(c.eventId, body ?? ""));
  }
  if (credential === "right" && spec.auth === "github-signature") {
    headers["X-Hub-Signature-256"] = await hubSignature(body ?? "");
  }
  const withCredential = credentialIntoForm(request, headers, body);
  return {
    path: targetOf(request),
    init: { method: spec.method, headers: withCredential.headers, body: withCredential.body, redirect: "manual" },
    vars: { OPENAI_BASE_URL: openaiScenario("ok").baseUrl, GITHUB_API_URL: githubScenario("ok").apiUrl },
  };
}

/**
 * One success and one error per route: the valid request with its credential, and the same request with a
 * wrong one (a route that takes no credential: the wrong method).
 */
function caseOf(name: RouteName): Case {
  const spec = ROUTES[name];
  // The token endpoint's credential is in its form, so a wrong header is none to it: it gets the wrong method.
  const takesNoHeaderCredential = spec.auth === "none" || spec.auth === "oauth-client";
  return {
    success: () => validCall(name, "right"),
    error: takesNoHeaderCredential
      ? async () => ({ ...(await validCall(name, "right")), init: { method: spec.method === "POST" ? "PUT" : "POST" } })
      : () => validCall(name, "wrong"),
    cache: VALID_REQUESTS[name].cache,
  };
}

/** The `Origin` a route's success is sent from: the relay's own for the consent form, `origin` for the rest. */
function successOrigin(name: RouteName, origin: string): string {
  return VALID_REQUESTS[name].ownOriginOnly ? "https://relay.test" : origin;
}

/** Sends a case's request with `Origin` and the test's extra variables. */
async function send(call: Call, origin: string | null, vars: Vars = ALLOWED): Promise<Response> {
  const headers = new Headers(call.init.headers);
  if (origin !== null) headers.set("Origin", origin);
  return relay(call.path, { ...call.init, headers }, { ...call.vars, ...vars });
}

/** The headers every answer of the relay carries, whatever its status. */
function expectPlatformHeaders(response: Response, cacheControl: string): void {
  expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
  expect(response.headers.get("X-Request-Id")).toMatch(REQUEST_ID);
  expect(response.headers.get("Cache-Control")).toBe(cacheControl);
  // Nothing that names the software behind the relay.
  expect(response.headers.get("Server")).toBeNull();
  expect(response.headers.get("X-Powered-By")).toBeNull();
}

/** An allowed origin is echoed exactly, with `Vary: Origin`; never the wildcard. */
function expectEchoedOrigin(response: Response, origin: string): void {
  expect(response.headers.get("Access-Control-Allow-Origin")).toBe(origin);
  expect(response.headers.get("Vary") ?? "").toMatch(/(^|,\s*)Origin(\s*,|$)/i);
  expect(response.headers.get("Access-Control-Allow-Origin")).not.toBe("*");
}

/**
 * An error body: the one error shape (the consent page's: a page under its strict policy), and neither a
 * secret nor anything of a stack trace in it.
 */
async function expectCleanErrorBody(response: Response): Promise<void> {
  const text = await response.text();
  if (response.headers.get("Content-Type")?.startsWith("text/html")) {
    expect(response.headers.get("Content-Security-Policy")).toMatch(/^default-src 'none'; style-src 'sha256-[^']+'; /);
    for (const secret of TEST_SECRETS) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/\bat \S+ \(|\.(?:ts|js|mjs):\d+|node_modules|workerd/);
    return;
  }
  const body = JSON.parse(text) as { success?: unknown; error: Record<string, unknown> };
  // The relay's shape, or under /v1 OpenAI's (docs/api.md, "Conventions").
  if ("success" in body) expect(body.success).toBe(false);
  else expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.code).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(typeof body.error.message).toBe("string");
  for (const secret of TEST_SECRETS) expect(text).not.toContain(secret);
  expect(text).not.toMatch(/\b(?:Type|Reference|Syntax|Range)?Error\b[:(]/);
  expect(text).not.toMatch(/\bat \S+ \(|\.(?:ts|js|mjs):\d+|node_modules|workerd|\bstack\b/);
}

const ROUTE_CASES = (Object.keys(ROUTES) as RouteName[]).map((name) => ({
  name,
  method: ROUTES[name].method,
  path: ROUTES[name].path,
  ...caseOf(name),
}));

describe("security headers on every route of the route table", () => {
  describe.each(ROUTE_CASES)("$method $path ($name)", ({ name, path: route, success, error, cache }) => {
    it("answers success with nosniff, a request id, its Cache-Control and the allowed origin echoed", async () => {
      const origin = successOrigin(name, ORIGIN);
      const response = await send(await success(), origin);
      expect(response.status, await response.clone().text()).toBeGreaterThanOrEqual(200);
      expect(response.status).toBeLessThan(VALID_REQUESTS[name].redirects ? 303 : 300);
      expectPlatformHeaders(response, cache ?? "no-store");
      if (name === "health") {
        // Health sits before the origin policy (it needs nothing and reveals nothing): no CORS at all.
        expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
      } else {
        expectEchoedOrigin(response, origin);
      }
      await response.body?.cancel();
    });

    it("answers an error with nosniff, a request id and no-store, and a clean error body", async () => {
      const response = await send(await error(), ORIGIN);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expectPlatformHeaders(response, "no-store");
      expectEchoedOrigin(response, ORIGIN);
      await expectCleanErrorBody(response);
    });

    it("refuses an Origin outside ORIGIN_ALLOWLIST with 403 and no Access-Control-Allow-Origin", async () => {
      const response = await send(await success(), EVIL_ORIGIN);
      expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
      if (name === "health") {
        expectPlatformHeaders(response, "no-store");
        expect(response.status).toBe(200);
        return;
      }
      expect(response.status).toBe(403);
      expectPlatformHeaders(response, "no-store");
      const body = await response.clone().json();
      expect(body).toEqual(
        route.startsWith("/v1/")
          ? {
              error: { message: expect.any(String), type: "permission_error", param: null, code: "origin_not_allowed" },
            }
          : { success: false, error: { code: "origin_not_allowed", message: expect.any(String) } },
      );
      await expectCleanErrorBody(response);
    });

    it("echoes any origin when ORIGIN_ALLOWLIST is empty, never *", async () => {
      const response = await send(await success(), "https://anyone.test", { ORIGIN_ALLOWLIST: "" });
      if (VALID_REQUESTS[name].ownOriginOnly) {
        // The consent form from another origin is a cross-site post, refused whatever the allowlist says.
        expect(response.status).toBe(403);
      } else {
        expect(response.status).toBeLessThan(VALID_REQUESTS[name].redirects ? 303 : 300);
      }
      expect(response.headers.get("Access-Control-Allow-Origin")).not.toBe("*");
      if (name !== "health") expectEchoedOrigin(response, "https://anyone.test");
      await response.body?.cancel();
    });

    it("answers a preflight from an allowed origin with that origin, nosniff and no-store", async () => {
      const { path, init } = await success();
      const response = await relay(
        path,
        {
          method: "OPTIONS",
          headers: {
            Origin: ORIGIN,
            "Access-Control-Request-Method": init.method ?? "GET",
            "Access-Control-Request-Headers": "authorization,content-type",
          },
        },
        ALLOWED,
      );
      expect(response.status).toBe(204);
      expectPlatformHeaders(response, "no-store");
      expectEchoedOrigin(response, ORIGIN);
      expect(response.headers.get("Access-Control-Allow-Methods")).toContain(init.method ?? "GET");
      expect(response.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    });

    it("refuses a preflight from another origin with 403 and no Access-Control-Allow-Origin", async () => {
      const { path, init } = await success();
      const response = await relay(
        path,
        { method: "OPTIONS", headers: { Origin: EVIL_ORIGIN, "Access-Control-Request-Method": init.method ?? "GET" } },
        ALLOWED,
      );
      expect(response.status).toBe(403);
      expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
      expectPlatformHeaders(response, "no-store");
    });
  });
});

describe("security headers on every kind of error answer", () => {
  /** Sends `call`, expects `status`, the platform headers with no-store and a clean error body. */
  async function expectCleanError(call: Call, status: number, extra: Vars = {}): Promise<Response> {
    const response = await send(call, ORIGIN, { ...ALLOWED, ...extra });
    expect(response.status).toBe(status);
    expectPlatformHeaders(response, "no-store");
    expectEchoedOrigin(response, ORIGIN);
    await expectCleanErrorBody(response.clone());
    return response;
  }

  it("404 for an unknown route", async () => {
    await expectCleanError(get("/nope"), 404);
  });

  it("402 for a library item the user may not read", async () => {
    const key = `${uniqueId("headers")}/members.txt`;
    await stored(key, "members only", { "X-Library-Tier": "yearly" });
    await expectCleanError(get(`/library/${key}`, bearer(await userJwt(uniqueId("u")))), 402);
  });

  it("413 for a JSON body over 1 MiB", async () => {
    const big = { messages: [{ role: "user", content: "x".repeat(1024 * 1024) }] };
    await expectCleanError(post("/v1/chat/completions", big, bearer(RELAY_SECRET)), 413);
  });

  it("415 for a body that is not JSON", async () => {
    await expectCleanError(
      post("/chatgpt/prs/list", "a=1", { ...bearer(CHATGPT_BEARER_TOKEN), "Content-Type": "text/plain" }),
      415,
    );
  });

  it("429 with Retry-After when rate limited", async () => {
    const ip = uniqueIp();
    const call = (): Call => {
      const { path, init } = post("/v1/chat/completions", hello, bearer(RELAY_SECRET));
      return {
        path,
        init: { ...init, headers: { ...(init.headers as Record<string, string>), "CF-Connecting-IP": ip } },
      };
    };
    const limit = { RATE_LIMIT_REQUESTS: "1" };
    expect((await send(call(), ORIGIN, { ...ALLOWED, ...limit })).status).toBe(200);
    const response = await expectCleanError(call(), 429, limit);
    expect(response.headers.get("Retry-After")).toMatch(/^\d+$/);
  });

  it("500 for an unexpected failure, with nothing of the failure in the body", async () => {
    // No D1 binding: the handler's query throws a TypeError that only the log may see.
    const response = await expectCleanError(get("/admin/audit", bearer(ADMIN_TOKEN)), 500, { DB: undefined });
    expect(await response.json()).toEqual({
      success: false,
      error: { code: "internal_error", message: "Internal error" },
    });
  });

  it("502 for an upstream that resets the connection", async () => {
    const upstream = openaiScenario("reset");
    await expectCleanError(post("/v1/chat/completions", hello, bearer(RELAY_SECRET)), 502, {
      OPENAI_BASE_URL: upstream.baseUrl,
    });
  });

  it("503 naming a missing secret, never a value", async () => {
    await expectCleanError(post("/trigger-hive", { action: "plan" }, bearer(RELAY_SECRET)), 503, {
      GITHUB_TOKEN: undefined,
    });
  });

  it("504 for GitHub not answering in time", async () => {
    const github = githubScenario("hang");
    await expectCleanError(post("/chatgpt/prs/list", repo, bearer(CHATGPT_BEARER_TOKEN)), 504, {
      GITHUB_API_URL: github.apiUrl,
      GITHUB_TIMEOUT_MS: "200",
    });
  });
});

describe("authenticated answers that an upstream sends", () => {
  it("are no-store even when the upstream's stream says otherwise", async () => {
    const upstream = openaiScenario("drip-2-5");
    const response = await send(
      post("/v1/chat/completions", { ...hello, stream: true }, bearer(RELAY_SECRET), {
        OPENAI_BASE_URL: upstream.baseUrl,
      }),
      ORIGIN,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/event-stream");
    expectPlatformHeaders(response, "no-store");
    expectEchoedOrigin(response, ORIGIN);
    await response.text();
  });

  it("serve a library item's revalidation (304) with private, no-cache and its error (416) with no-store", async () => {
    const key = `${uniqueId("headers")}/members.txt`;
    await stored(key, "members only", { "X-Library-Tier": "monthly" });
    const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
    const token = await userJwt(user);
    const first = await send(get(`/library/${key}`, bearer(token)), ORIGIN);
    const etag = first.headers.get("ETag") ?? "";
    await first.body?.cancel();
    const revalidated = await send(get(`/library/${key}`, { ...bearer(token), "If-None-Match": etag }), ORIGIN);
    expect(revalidated.status).toBe(304);
    expectPlatformHeaders(revalidated, "private, no-cache");
    expectEchoedOrigin(revalidated, ORIGIN);
    const unsatisfiable = await send(get(`/library/${key}`, { ...bearer(token), Range: "bytes=500-" }), ORIGIN);
    expect(unsatisfiable.status).toBe(416);
    expectPlatformHeaders(unsatisfiable, "no-store");
    await expectCleanErrorBody(unsatisfiable);
  });
});

describe("the consent page's own headers", () => {
  it("allows no script, only its hashed stylesheet, a form posted back here or to the client, and no framing", async () => {
    const clientId = await registerClient();
    const form = await openConsent(authorizeQuery(clientId, (await pkcePair()).challenge));
    expect(form.response.status).toBe(200);
    const style = /<style>([\s\S]*?)<\/style>/.exec(form.page)?.[1] ?? "";
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(style));
    const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
    expect(form.response.headers.get("Content-Security-Policy")).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; form-action 'self' https://client.test; frame-ancestors 'none'; base-uri 'none'`,
    );
    expect(form.response.headers.get("X-Frame-Options")).toBe("DENY");
    // `same-origin`, so that the browser posts the form with this relay as its Origin, never `null`.
    expect(form.response.headers.get("Referrer-Policy")).toBe("same-origin");
    expectPlatformHeaders(form.response, "no-store");
    expect(form.page).not.toMatch(/<script|\son\w+=|javascript:/i);
    expect(form.response.headers.get("Set-Cookie")).toMatch(
      /^__Host-oauth-consent-[0-9a-f]{16}=[0-9a-f]{64}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=600$/,
    );
  });

  it("serves its error page under a policy that allows no form at all", async () => {
    const response = await relay("/authorize?client_id=nobody", { headers: { "CF-Connecting-IP": uniqueIp() } });
    expect(response.status).toBe(400);
    expect(response.headers.get("Content-Security-Policy")).toMatch(
      /^default-src 'none'; style-src 'sha256-[^']+'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'$/,
    );
    expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
    expectPlatformHeaders(response, "no-store");
  });
});

describe("the operator console's own headers", () => {
  it.each(["/admin", "/admin/console/app.js", "/admin/console/app.css"])(
    "serves %s under a policy that runs only the relay's own script and style and allows no framing",
    async (path) => {
      const response = await send(get(path), ORIGIN);
      expect(response.status).toBe(200);
      expect(response.headers.get("Content-Security-Policy")).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'none'; " +
          "frame-ancestors 'none'; base-uri 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
      );
      expect(response.headers.get("X-Frame-Options")).toBe("DENY");
      expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(response.headers.get("Cross-Origin-Opener-Policy")).toBe("same-origin");
      expect(response.headers.get("Cross-Origin-Resource-Policy")).toBe("same-origin");
      expect(response.headers.get("Set-Cookie")).toBeNull();
      // Public files the browser may keep, revalidated by their ETag before each use.
      expectPlatformHeaders(response, "no-cache");
      expect(response.headers.get("ETag")).toMatch(/^"[0-9a-f]+"$/);
      await response.body?.cancel();
    },
  );

  it("answers a file that is not the console's with the JSON 404, no-store", async () => {
    const response = await send(get("/admin/console/index.html"), ORIGIN);
    expect(response.status).toBe(404);
    expectPlatformHeaders(response, "no-store");
    await expectCleanErrorBody(response);
  });
});
