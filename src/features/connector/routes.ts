import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { Hono } from "hono";
import { type AuditedEnv, auditAttempt } from "../../audit/attempt";
import { Forbidden, InvalidRequest } from "../../errors";
import { readConfig } from "../../lib/config";
import { safeEqual } from "../../lib/constant-time";
import { bearerToken, requireToken } from "../../middleware/auth";
import { limitBody, readJson } from "../../middleware/json-body";
import { rateLimit } from "../../middleware/rate-limit";
import {
  addLabels,
  createIssueComment,
  dispatchRepositoryEvent,
  githubConfig,
  listPullRequests,
  type Repository,
} from "../../upstream/github";
import { repositoryAllowed } from "./allowlist";
import { connectorRoutes, SECURITY_SCHEME } from "./contract";
import {
  commentRequest,
  connectorConfig,
  connectorLimitConfig,
  dispatchRequest,
  labelRequest,
  listRequest,
} from "./schema";

/** Kora: the ChatGPT Actions connector (four routes) and its generated /openapi.json. */
export const connector = new Hono<AuditedEnv>();

// Per token (DESIGN.md), before auth. Only the configured token gets a bucket of its own: anything else counts
// against the client's IP, so guessing with a new token on every request is limited like any other guess.
const limit = rateLimit({
  scope: "connector",
  limit: (c) => readConfig(c.env, connectorLimitConfig).CONNECTOR_RATE_LIMIT,
  key: async (c) => {
    const token = bearerToken(c.req.header("Authorization"));
    const expected = c.env.CHATGPT_BEARER_TOKEN;
    const valid = token !== undefined && Boolean(expected) && (await safeEqual(token, expected));
    return valid ? `token:${token}` : `ip:${c.get("clientIp")}`;
  },
});
const auth = requireToken({ secret: "CHATGPT_BEARER_TOKEN" });
const audited = (action: string) => auditAttempt({ actor: "chatgpt", action, target: () => "unknown" });

/** Reads both configs up front, so an unconfigured relay answers 503 before anything else happens. */
function configOf(env: Env) {
  return { connector: readConfig(env, connectorConfig), github: readConfig(env, githubConfig) };
}

/** 403 before any GitHub call for a repository outside ALLOWED_REPOS. */
function allowed(config: { ALLOWED_REPOS: string[] }, { owner, repo }: Repository): Repository {
  if (!repositoryAllowed(config.ALLOWED_REPOS, owner, repo)) {
    throw new Forbidden(`${owner}/${repo} is not in ALLOWED_REPOS`, "repository_not_allowed");
  }
  return { owner, repo };
}

// zod-to-openapi is used directly rather than through @hono/zod-openapi, whose `import { z } from "zod"`
// would pull every zod locale into the bundle (+100 KiB gzipped, BENCHMARKS.md).
const registry = new OpenAPIRegistry();
for (const route of Object.values(connectorRoutes)) registry.registerPath(route);
registry.registerComponent("securitySchemes", SECURITY_SCHEME, {
  type: "http",
  scheme: "bearer",
  description: "The relay's CHATGPT_BEARER_TOKEN (ChatGPT Actions: Authentication, API key, Bearer).",
});

connector.post(connectorRoutes.dispatch.path, audited("dispatch"), limit, auth, limitBody(), async (c) => {
  const config = configOf(c.env);
  const body = await readJson(c, dispatchRequest);
  const audit = c.get("audit");
  audit.target = `${body.owner}/${body.repo}`;
  const repository = allowed(config.connector, body);
  const types = config.connector.DISPATCH_EVENT_TYPES;
  const eventType = body.event_type ?? (types[0] as string);
  if (!types.includes(eventType)) {
    throw new InvalidRequest(`event_type: must be one of ${types.join(", ")}`, "event_type_not_allowed");
  }
  await dispatchRepositoryEvent(config.github, repository, {
    event_type: eventType,
    ...(body.client_payload === undefined ? {} : { client_payload: body.client_payload }),
  });
  return c.json({
    success: true,
    dispatched: true,
    repository: audit.target,
    event_type: eventType,
    request_id: c.get("requestId"),
  });
});

connector.post(connectorRoutes.list.path, limit, auth, limitBody(), async (c) => {
  const config = configOf(c.env);
  const body = await readJson(c, listRequest);
  const repository = allowed(config.connector, body);
  const { pulls, hasMore } = await listPullRequests(config.github, repository, body);
  return c.json({ success: true, pull_requests: pulls, page: body.page, has_more: hasMore });
});

connector.post(connectorRoutes.comment.path, audited("comment"), limit, auth, limitBody(), async (c) => {
  const config = configOf(c.env);
  const body = await readJson(c, commentRequest);
  c.get("audit").target = `${body.owner}/${body.repo}#${body.pull_number}`;
  const repository = allowed(config.connector, body);
  const comment = await createIssueComment(config.github, repository, body.pull_number, body.body);
  return c.json({ success: true, comment });
});

connector.post(connectorRoutes.label.path, audited("label"), limit, auth, limitBody(), async (c) => {
  const config = configOf(c.env);
  const body = await readJson(c, labelRequest);
  c.get("audit").target = `${body.owner}/${body.repo}#${body.pull_number}`;
  const repository = allowed(config.connector, body);
  const labels = await addLabels(config.github, repository, body.pull_number, body.labels);
  return c.json({ success: true, labels });
});

connector.get("/openapi.json", (c) =>
  c.json(
    new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: "3.1.0",
      info: {
        title: "Kora connector",
        version: "1.0.0",
        description: "Start Hivemind tasks and list, comment on and label pull requests of allowed repositories.",
      },
      servers: [{ url: new URL(c.req.url).origin }],
    }),
  ),
);
