import { type Context, Hono } from "hono";
import * as z from "zod";
import { type AuditedEnv, auditAttempt } from "../../audit/attempt";
import { readJson } from "../../lib/request";
import { mount } from "../../middleware/guard";
import { dispatchAnswer, idempotencyKeyOf } from "../dispatches/answer";
import { dispatchStatus } from "../dispatches/status";
import { type ActionContext, commentOnPull, dispatchTask, KORA_SUBJECT, labelPull, listPulls } from "./actions";
import { connectorRoutes } from "./contract";
import document from "./openapi.json";

export { connectorRoutes };

/** Kora: the ChatGPT Actions connector (five routes) and its /openapi.json, generated when the relay is built. */
export const connector = new Hono<AuditedEnv>();

const audited = (action: string) => auditAttempt({ actor: "chatgpt", action, target: () => "unknown" });

/** The request's part of an action (actions.ts); a read-only route, not audited, gets a draft nobody writes. */
function actionContext(c: Context<AuditedEnv>): ActionContext {
  const audit = c.get("audit") ?? { target: "unknown", dryRun: false };
  return { env: c.env, requestId: c.get("requestId"), audit };
}

/** The JSON body, unvalidated: the action validates it with its schema, as it does for an MCP tool's input. */
const jsonBody = (c: Context<AuditedEnv>) => readJson(c.req.raw, z.unknown());

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

// The document is this deployment's: its server URL is the origin that serves it.
mount(connector, connectorRoutes.openapi, (c) => {
  const { openapi, info, ...rest } = document;
  return c.json({ openapi, info, servers: [{ url: new URL(c.req.url).origin }], ...rest });
});
