import * as z from "zod";
import { list, required, text } from "../../lib/config";
import { type IpRange, parseIpAllowlist } from "./ip-allowlist";

/** The operator trigger's variables (docs/api.md, "Configuration"); GitHub's own live in upstream/github.ts. */
export const triggerConfig = z.object({
  HIVE_REPOSITORY: required().pipe(
    z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/),
  ),
  HIVE_EVENT_TYPE: text("hivemind-foreman").pipe(z.string().max(100)),
  HIVE_ACTIONS: list().transform((actions) => (actions.length > 0 ? actions : ["execute", "plan"])),
});
export type TriggerConfig = z.output<typeof triggerConfig>;

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
