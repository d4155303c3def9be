import * as z from "zod";
import { json, list, optional, text } from "../../lib/config";
import { repositoryAllowed } from "../connector/allowlist";
import { type IpRange, parseIpAllowlist } from "./ip-allowlist";

const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;
const eventType = z.string().min(1).max(100);

/** One entry of HIVE_ROUTES: the repository an action's event goes to, and its event type. */
const hiveRoute = z.strictObject({
  repository: z.string().regex(REPOSITORY, "must be owner/repo"),
  event_type: eventType.optional(),
});

/** The routing variables: HIVE_ROUTES, and the defaults that serve every action it does not name. */
const routing = {
  HIVE_ROUTES: json(z.record(z.string(), hiveRoute)),
  HIVE_ACTIONS: list().transform((actions) => (actions.length > 0 ? actions : ["execute", "plan"])),
  ALLOWED_REPOS: list(),
};

type RoutingConfig = {
  HIVE_ROUTES?: Record<string, z.output<typeof hiveRoute>>;
  HIVE_ACTIONS: string[];
  ALLOWED_REPOS: string[];
};

/** HIVE_ROUTES may route only actions of HIVE_ACTIONS, and only to repositories inside ALLOWED_REPOS. */
function checkRoutes(config: RoutingConfig, ctx: z.RefinementCtx): void {
  for (const [action, route] of Object.entries(config.HIVE_ROUTES ?? {})) {
    if (!config.HIVE_ACTIONS.includes(action)) {
      ctx.addIssue({
        code: "custom",
        path: ["HIVE_ROUTES", action],
        message: `routes the action ${action}, which is not in HIVE_ACTIONS (${config.HIVE_ACTIONS.join(", ")})`,
      });
    }
    const [owner = "", repo = ""] = route.repository.split("/");
    if (!repositoryAllowed(config.ALLOWED_REPOS, owner, repo)) {
      ctx.addIssue({
        code: "custom",
        path: ["HIVE_ROUTES", action],
        message: `the action ${action} goes to ${route.repository}, which is not in ALLOWED_REPOS`,
      });
    }
  }
}

/**
 * The operator trigger's variables (docs/api.md, "Configuration"); GitHub's own live in upstream/github.ts.
 * HIVE_REPOSITORY is needed only when some action of HIVE_ACTIONS has no route of its own.
 */
export const triggerConfig = z
  .object({
    ...routing,
    HIVE_REPOSITORY: optional().pipe(z.string().regex(REPOSITORY).optional()),
    HIVE_EVENT_TYPE: text("hivemind-foreman").pipe(eventType),
  })
  .superRefine((config, ctx) => {
    checkRoutes(config, ctx);
    const unrouted = config.HIVE_ACTIONS.filter((action) => config.HIVE_ROUTES?.[action] === undefined);
    if (unrouted.length > 0 && config.HIVE_REPOSITORY === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["HIVE_REPOSITORY"],
        message: `is needed for the actions HIVE_ROUTES does not route (${unrouted.join(", ")})`,
      });
    }
  });
export type TriggerConfig = z.output<typeof triggerConfig>;

/**
 * What is checked when the Worker loads (src/index.ts): a routing table that is malformed or leads outside
 * ALLOWED_REPOS stops the Worker, rather than waiting for the first trigger to answer 503.
 */
export const triggerLoadConfig = z.object(routing).superRefine(checkRoutes);

/** What the IP gate needs before anything else: the allowlist (empty = any IP). */
export const triggerGateConfig = z.object({
  TRIGGER_IP_ALLOWLIST: list().transform((entries, ctx): IpRange[] => {
    const ranges = parseIpAllowlist(entries);
    if (ranges) return ranges;
    ctx.addIssue({ code: "custom", message: "entries must be IP addresses or CIDR ranges" });
    return z.NEVER;
  }),
});

/** The relay's cap on the operator's `payload` as JSON (GitHub limits the whole client_payload). */
export const MAX_TRIGGER_PAYLOAD_BYTES = 64 * 1024;

/** `POST /trigger-hive`. */
export const triggerRequest = z.strictObject({
  action: z.string().min(1).max(100).meta({ description: "One of the relay's HIVE_ACTIONS, such as plan or execute." }),
  dry_run: z.boolean().default(false),
  payload: z
    .record(z.string(), z.unknown())
    .refine((payload) => new TextEncoder().encode(JSON.stringify(payload)).length < MAX_TRIGGER_PAYLOAD_BYTES, {
      message: `must be smaller than ${MAX_TRIGGER_PAYLOAD_BYTES} bytes as JSON`,
    })
    .optional()
    .meta({ description: "Free-form JSON object handed to the workflow, under 64 KB." }),
});
