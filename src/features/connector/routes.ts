import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { Hono } from "hono";
import { type AuditedEnv, auditAttempt } from "../../audit/attempt";
import { Forbidden, InvalidRequest } from "../../errors";
import { readConfig } from "../../lib/config";
import { readJson } from "../../lib/request";
import { mount } from "../../middleware/guard";
import {
  addLabels,
  createIssueComment,
  dispatchRepositoryEvent,
  githubConfig,
  listPullRequests,
  type Repository,
} from "../../upstream/github";
import { repositoryAllowed } from "./allowlist";
import { connectorRoutes, operations, SECURITY_SCHEME } from "./contract";
import { commentRequest, connectorConfig, dispatchRequest, labelRequest, listRequest } from "./schema";

export { connectorRoutes };

/** Kora: the ChatGPT Actions connector (four routes) and its generated /openapi.json. */
export const connector = new Hono<AuditedEnv>();

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
for (const route of Object.values(operations)) registry.registerPath(route);
registry.registerComponent("securitySchemes", SECURITY_SCHEME, {
  type: "http",
  scheme: "bearer",
  description: "The relay's CHATGPT_BEARER_TOKEN (ChatGPT Actions: Authentication, API key, Bearer).",
});

mount(
  connector,
  connectorRoutes.dispatch,
  async (c) => {
    const config = configOf(c.env);
    const body = await readJson(c.req.raw, dispatchRequest);
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
  },
  [audited("dispatch")],
);

mount(connector, connectorRoutes.listPulls, async (c) => {
  const config = configOf(c.env);
  const body = await readJson(c.req.raw, listRequest);
  const repository = allowed(config.connector, body);
  const { pulls, hasMore } = await listPullRequests(config.github, repository, body);
  return c.json({ success: true, pull_requests: pulls, page: body.page, has_more: hasMore });
});

mount(
  connector,
  connectorRoutes.comment,
  async (c) => {
    const config = configOf(c.env);
    const body = await readJson(c.req.raw, commentRequest);
    c.get("audit").target = `${body.owner}/${body.repo}#${body.pull_number}`;
    const repository = allowed(config.connector, body);
    const comment = await createIssueComment(config.github, repository, body.pull_number, body.body);
    return c.json({ success: true, comment });
  },
  [audited("comment")],
);

mount(
  connector,
  connectorRoutes.label,
  async (c) => {
    const config = configOf(c.env);
    const body = await readJson(c.req.raw, labelRequest);
    c.get("audit").target = `${body.owner}/${body.repo}#${body.pull_number}`;
    const repository = allowed(config.connector, body);
    const labels = await addLabels(config.github, repository, body.pull_number, body.labels);
    return c.json({ success: true, labels });
  },
  [audited("label")],
);

mount(connector, connectorRoutes.openapi, (c) =>
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
