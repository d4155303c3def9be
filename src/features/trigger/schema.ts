import * as z from "zod";
import { integer, list, required, text } from "../../lib/config";
import { type IpRange, parseIpAllowlist } from "./ip-allowlist";

/** The operator trigger's variables (DESIGN.md, "Configuration"); GitHub's own live in upstream/github.ts. */
export const triggerConfig = z.object({
  HIVE_REPOSITORY: required().pipe(
    z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/),
  ),
  HIVE_EVENT_TYPE: text("hivemind-foreman").pipe(z.string().max(100)),
  HIVE_ACTIONS: list().transform((actions) => (actions.length > 0 ? actions : ["execute", "plan"])),
});
export type TriggerConfig = z.output<typeof triggerConfig>;

/** What the gate middleware needs before auth: the IP allowlist (empty = any IP) and the rate limit. */
export const triggerGateConfig = z.object({
  TRIGGER_IP_ALLOWLIST: list().transform((entries, ctx): IpRange[] => {
    const ranges = parseIpAllowlist(entries);
    if (ranges) return ranges;
    ctx.addIssue({ code: "custom", message: "entries must be IP addresses or CIDR ranges" });
    return z.NEVER;
  }),
  TRIGGER_RATE_LIMIT: integer(10, 1),
});

/** The relay's cap on the operator's `payload` as JSON (GitHub limits the whole client_payload). */
export const MAX_TRIGGER_PAYLOAD_BYTES = 64 * 1024;

/** `POST /trigger-hive`. */
export const triggerRequest = z.strictObject({
  action: z.string().min(1).max(100),
  dry_run: z.boolean().default(false),
  payload: z
    .record(z.string(), z.unknown())
    .refine((payload) => new TextEncoder().encode(JSON.stringify(payload)).length < MAX_TRIGGER_PAYLOAD_BYTES, {
      message: `must be smaller than ${MAX_TRIGGER_PAYLOAD_BYTES} bytes as JSON`,
    })
    .optional(),
});
