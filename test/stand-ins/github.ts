import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listenOnLoopback, parseRecorded, readBody, json as sendJson } from "./http.ts";

/**
 * Stand-in for the GitHub REST API on 127.0.0.1, speaking GitHub's wire format: status codes, JSON bodies,
 * `{message, documentation_url}` errors, the Link header for pagination and the rate-limit headers.
 *
 * Each test picks its own scenario through the GITHUB_API_URL it gives the relay, so tests running at once
 * never share state: `http://127.0.0.1:PORT/s/<id>/<behaviour>`. Behaviours:
 *   ok                the allowed calls answer as GitHub does (pulls: 5 open pull requests in all; search: two hits
 *                     per `repo:` and one per `user:` qualifier, none when the text says "nothing"; a pull request
 *                     has 3 comments)
 *   status-<code>     a GitHub error body with that status (404 Not Found, 422 Validation Failed, 500, …)
 *   ratelimit         403, `x-ratelimit-remaining: 0`, `x-ratelimit-reset` 120 s from now (primary limit)
 *   secondary         403 with `retry-after: 30` (secondary rate limit)
 *   toomany           429 with `retry-after: 17`
 *   forbidden         403 "Resource not accessible by personal access token", quota left (not a rate limit)
 *   echo-token        422 whose message repeats the Authorization header it received
 *   redirect          301 to another repository (a renamed repository)
 *   garbage           200 with a body that is not what GitHub sends
 *   hang              accepts the request and never answers
 *   slow-<ms>         waits ms milliseconds, then answers like `ok`
 *   reset             destroys the connection without answering
 * Every request is recorded, allowed or not; a method/path outside the seven allowed calls answers 599 so a
 * wrong URL fails loudly. `GET /__requests/<id>` returns what the scenario received.
 *
 * A request made later, by the relay's queue consumer, uses the Worker's own GITHUB_API_URL (the scenario
 * `default`), not the test's. Such tests script a repository instead:
 *   POST /__script  `{"repository": "octo-org/x", "behaviours": ["status-500", "reset"]}`: the next requests
 *                   about that repository, in any scenario, take these behaviours in turn, then their own
 *   GET /__requests?repository=octo-org/x   what every scenario received about that repository, in order
 */
export type RecordedGitHubRequest = {
  /** The behaviour that answered it (a script's, or the scenario's). */
  behaviour: string;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
};

/** The seven calls the relay may make, as GitHub documents them. */
export const ALLOWED_CALLS: Array<{ method: string; path: RegExp }> = [
  { method: "POST", path: /^\/repos\/[^/]+\/[^/]+\/dispatches$/ },
  { method: "GET", path: /^\/repos\/[^/]+\/[^/]+\/pulls$/ },
  { method: "POST", path: /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/ },
  { method: "POST", path: /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/labels$/ },
  { method: "GET", path: /^\/search\/issues$/ },
  { method: "GET", path: /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+$/ },
  { method: "GET", path: /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/ },
];

const DOCS = "https://docs.github.com/rest";
const TOTAL_PULLS = 5;
const scenarioPath = /^\/s\/([\w.-]+)\/([\w-]+)(\/.*)$/;

export async function startGitHubStandIn(port = 0) {
  const recorded = new Map<string, RecordedGitHubRequest[]>();
  const byRepository = new Map<string, RecordedGitHubRequest[]>();
  const scripts = new Map<string, string[]>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    if (req.method === "GET" && url.pathname.startsWith("/__requests/")) {
      return json(res, 200, recorded.get(url.pathname.slice("/__requests/".length)) ?? []);
    }
    if (req.method === "GET" && url.pathname === "/__requests") {
      return json(res, 200, byRepository.get(url.searchParams.get("repository")?.toLowerCase() ?? "") ?? []);
    }
    if (req.method === "POST" && url.pathname === "/__script") {
      const { repository, behaviours } = JSON.parse(await readBody(req)) as {
        repository: string;
        behaviours: string[];
      };
      scripts.set(repository.toLowerCase(), [...behaviours]);
      return json(res, 200, { ok: true });
    }
    const match = scenarioPath.exec(url.pathname);
    if (!match) return json(res, 599, { message: `stand-in: no scenario in ${req.method} ${url.pathname}` });
    const [, id = "", own = "", path = ""] = match;
    const repository = /^\/repos\/([^/]+\/[^/]+)\//.exec(path)?.[1]?.toLowerCase();
    const behaviour = (repository && scripts.get(repository)?.shift()) || own;
    const text = await readBody(req);
    const record: RecordedGitHubRequest = {
      behaviour,
      method: req.method ?? "",
      path,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: text === "" ? null : parseRecorded(text),
    };
    // Load tests (bench, soak) use scenario ids starting with "load": nothing is kept for them.
    if (!id.startsWith("load")) {
      const list = recorded.get(id) ?? [];
      list.push(record);
      recorded.set(id, list);
    }
    if (repository && scripts.has(repository))
      byRepository.set(repository, [...(byRepository.get(repository) ?? []), record]);

    if (!ALLOWED_CALLS.some((call) => call.method === req.method && call.path.test(path))) {
      return json(res, 599, { message: `stand-in: ${req.method} ${path} is not one of the seven allowed calls` });
    }
    behave(behaviour, record, req, res);
  });
  return listenOnLoopback(server, port);
}

function behave(behaviour: string, record: RecordedGitHubRequest, req: IncomingMessage, res: ServerResponse) {
  const [kind, arg] = behaviour.split("-");
  const now = Math.floor(Date.now() / 1000);
  const quota = { "x-ratelimit-limit": "5000", "x-ratelimit-used": "1", "x-ratelimit-resource": "core" };
  switch (kind) {
    case "ok":
      return answer(record, res);
    case "status":
      return json(res, Number(arg), errorOf(Number(arg)));
    case "ratelimit":
      return json(
        res,
        403,
        { message: "API rate limit exceeded for user ID 1.", documentation_url: DOCS },
        { ...quota, "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now + 120) },
      );
    case "secondary":
      return json(
        res,
        403,
        { message: "You have exceeded a secondary rate limit.", documentation_url: DOCS },
        { "retry-after": "30" },
      );
    case "toomany":
      return json(res, 429, { message: "Too many requests", documentation_url: DOCS }, { "retry-after": "17" });
    case "forbidden":
      return json(
        res,
        403,
        { message: "Resource not accessible by personal access token", documentation_url: DOCS },
        { ...quota, "x-ratelimit-remaining": "4999", "x-ratelimit-reset": String(now + 3600) },
      );
    case "echo":
      return json(res, 422, { message: `Invalid request for ${req.headers.authorization}`, documentation_url: DOCS });
    case "redirect":
      res.writeHead(301, { Location: "https://api.github.com/repositories/1" });
      return res.end(JSON.stringify({ message: "Moved Permanently", url: "https://api.github.com/repositories/1" }));
    case "garbage":
      return json(res, 200, { surprise: true });
    case "hang":
      return; // never answers; the relay's timeout must fire
    case "slow":
      setTimeout(
        () => {
          if (!res.destroyed) answer(record, res);
        },
        Number(arg ?? 1000),
      );
      return;
    case "reset":
      req.socket.destroy();
      return;
    default:
      return json(res, 599, { message: `stand-in: unknown behaviour ${behaviour}` });
  }
}

/** The success answers of the allowed calls, shaped like GitHub's (with more fields than the relay keeps). */
function answer(record: RecordedGitHubRequest, res: ServerResponse) {
  const [, , owner, repo, kind, number] = record.path.split("/");
  const body = (record.body ?? {}) as { body?: string; labels?: string[] };
  if (record.path === "/search/issues") return json(res, 200, searchAnswer(record.query.q ?? ""));
  if (kind === "pulls" && number !== undefined) {
    return json(res, 200, { ...pull(`${owner}/${repo}`, Number(number)), comments: 3, review_comments: 1 });
  }
  if (kind === "issues" && record.method === "GET") {
    return json(
      res,
      200,
      [1, 2, 3].map((n) => issueComment(`${owner}/${repo}`, Number(number), n)),
    );
  }
  if (record.path.endsWith("/dispatches")) {
    res.writeHead(204);
    return res.end();
  }
  if (record.path.endsWith("/pulls")) {
    const perPage = Number(record.query.per_page ?? 30);
    const page = Number(record.query.page ?? 1);
    const first = (page - 1) * perPage + 1;
    const numbers = Array.from({ length: perPage }, (_, i) => first + i).filter((n) => n <= TOTAL_PULLS);
    const base = `https://api.github.com/repositories/1/pulls?state=${record.query.state ?? "open"}&per_page=${perPage}`;
    const lastPage = Math.ceil(TOTAL_PULLS / perPage);
    const links = [
      page < lastPage ? `<${base}&page=${page + 1}>; rel="next"` : "",
      page < lastPage ? `<${base}&page=${lastPage}>; rel="last"` : "",
      page > 1 ? `<${base}&page=1>; rel="first", <${base}&page=${page - 1}>; rel="prev"` : "",
    ].filter(Boolean);
    const headers: Record<string, string> = links.length > 0 ? { Link: links.join(", ") } : {};
    return json(
      res,
      200,
      numbers.map((n) => pull(`${owner}/${repo}`, n)),
      headers,
    );
  }
  if (kind === "issues" && record.path.endsWith("/comments")) {
    return json(res, 201, {
      id: 1000 + Number(number),
      node_id: "IC_kwDOstandin",
      url: `https://api.github.com/repos/${owner}/${repo}/issues/comments/${1000 + Number(number)}`,
      html_url: `https://github.com/${owner}/${repo}/pull/${number}#issuecomment-${1000 + Number(number)}`,
      body: body.body,
      user: { login: "relay-bot", id: 7, type: "Bot" },
      created_at: "2026-01-02T03:04:05Z",
      updated_at: "2026-01-02T03:04:05Z",
      author_association: "NONE",
    });
  }
  const names = ["needs-review", ...(body.labels ?? [])];
  return json(
    res,
    200,
    names.map((name, i) => ({
      id: i + 1,
      node_id: `LA_${i}`,
      name,
      color: "ededed",
      default: false,
      description: null,
    })),
  );
}

function pull(fullName: string, n: number) {
  return {
    url: `https://api.github.com/repos/${fullName}/pulls/${n}`,
    id: 500 + n,
    number: n,
    state: "open",
    locked: false,
    title: `Pull request ${n}`,
    user: { login: `dev${n}`, id: n, type: "User" },
    body: `The description of pull request ${n}.`,
    labels: [{ id: 1, name: "kora", color: "ededed", default: false }],
    draft: n % 2 === 0,
    head: { label: `octo:feature-${n}`, ref: `feature-${n}`, sha: `head${n}`, repo: { id: 1 } },
    base: { label: "octo:main", ref: "main", sha: "base0", repo: { id: 1 } },
    html_url: `https://github.com/${fullName}/pull/${n}`,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-02T00:00:00Z",
    merged_at: null,
  };
}

/** GitHub's search answer: two hits per `repo:` qualifier, one per `user:` (in `<user>/widgets`). */
function searchAnswer(q: string) {
  const repos = q.includes("nothing")
    ? []
    : q.split(" ").flatMap((word) => {
        if (word.startsWith("repo:")) return [`${word.slice(5)}#1`, `${word.slice(5)}#2`];
        if (word.startsWith("user:")) return [`${word.slice(5)}/widgets#7`];
        return [];
      });
  const items = repos.map((hit) => {
    const [fullName = "", n = "0"] = hit.split("#");
    const { body: _body, ...rest } = pull(fullName, Number(n));
    return {
      url: `https://api.github.com/repos/${fullName}/issues/${n}`,
      repository_url: `https://api.github.com/repos/${fullName}`,
      html_url: rest.html_url,
      id: rest.id,
      number: rest.number,
      title: rest.title,
      user: rest.user,
      labels: rest.labels,
      state: rest.state,
      comments: 3,
      created_at: rest.created_at,
      updated_at: rest.updated_at,
      pull_request: { url: rest.url, html_url: rest.html_url, merged_at: null },
      body: `The description of pull request ${n}.`,
      score: 1,
    };
  });
  return { total_count: items.length, incomplete_results: false, items };
}

function issueComment(fullName: string, issue: number, n: number) {
  const id = issue * 100 + n;
  return {
    id,
    node_id: `IC_${id}`,
    url: `https://api.github.com/repos/${fullName}/issues/comments/${id}`,
    html_url: `https://github.com/${fullName}/pull/${issue}#issuecomment-${id}`,
    body: `Comment ${n} on ${issue}`,
    user: { login: `reviewer${n}`, id: n, type: "User" },
    created_at: `2026-01-0${n}T00:00:00Z`,
    updated_at: `2026-01-0${n}T00:00:00Z`,
    author_association: "MEMBER",
  };
}

function errorOf(status: number) {
  if (status === 404) return { message: "Not Found", documentation_url: DOCS, status: "404" };
  if (status === 422) {
    return {
      message: "Validation Failed",
      errors: [{ resource: "Label", code: "invalid", field: "name" }],
      documentation_url: DOCS,
      status: "422",
    };
  }
  if (status === 401) return { message: "Bad credentials", documentation_url: DOCS, status: "401" };
  return { message: "Server Error", status: String(status) };
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  sendJson(res, status, value, headers, "application/json; charset=utf-8");
}
