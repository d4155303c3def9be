import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { type Context, Hono } from "hono";
import * as z from "zod";
import { type AuditedEnv, auditAttempt } from "../../audit/attempt";
import { readJson } from "../../lib/request";
import { mount } from "../../middleware/guard";
import { dispatchAnswer, idempotencyKeyOf } from "../dispatches/answer";
import { dispatchStatus } from "../dispatches/status";
import { type ActionContext, commentOnPull, dispatchTask, KORA_SUBJECT, labelPull, listPulls } from "./actions";
import { connectorRoutes, operations, SECURITY_SCHEME } from "./contract";

export { connectorRoutes };

/** Kora: the ChatGPT Actions connector (five routes) and its generated /openapi.json. */
export const connector = new Hono<AuditedEnv>();

const audited = (action: string) => auditAttempt({ actor: "chatgpt", action, target: () => "unknown" });

/** The request's part of an action (actions.ts); a read-only route, not audited, gets a draft nobody writes. */
function actionContext(c: Context<AuditedEnv>): ActionContext {
  const audit = c.get("audit") ?? { target: "unknown", dryRun: false };
  return { env: c.env, requestId: c.get("requestId"), audit };
}

/** The JSON body, unvalidated: the action validates it with its schema, as it does for an MCP tool's input. */
const jsonBody = (c: Context<AuditedEnv>) => readJson(c.req.raw, z.unknown());

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
    const context = { ...actionContext(c), idempotencyKey: idempotencyKeyOf(c.req.raw.headers) };
    return dispatchAnswer(c, await dispatchTask(context, await jsonBody(c)));
  },
  [audited("dispatch")],
);

mount(connector, connectorRoutes.dispatchStatus, async (c) =>
  c.json({ success: true, ...(await dispatchStatus(c.env.DB, c.req.param("request_id") ?? "", KORA_SUBJECT)) }),
);

mount(connector, connectorRoutes.listPulls, async (c) =>
  c.json({ success: true, ...(await listPulls(actionContext(c), await jsonBody(c))) }),
);

mount(
  connector,
  connectorRoutes.comment,
  async (c) => c.json({ success: true, ...(await commentOnPull(actionContext(c), await jsonBody(c))) }),
  [audited("comment")],
);

mount(
  connector,
  connectorRoutes.label,
  async (c) => c.json({ success: true, ...(await labelPull(actionContext(c), await jsonBody(c))) }),
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
