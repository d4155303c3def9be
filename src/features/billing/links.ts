import { NotConfigured } from "../../errors";

/** The variable holding a SKU's payment link: `my-course` → `CHASE_LINK_SKU_MY_COURSE` (docs/api.md, "Configuration"). */
export function skuVariable(sku: string): string {
  return `CHASE_LINK_SKU_${sku.toUpperCase().replaceAll("-", "_")}`;
}

/** The variable holding a tier's payment link: `monthly` → `CHASE_LINK_MONTHLY`. */
export function tierVariable(tier: string): string {
  return `CHASE_LINK_${tier.toUpperCase()}`;
}

/** A payment link from `env`, or undefined when the variable is unset or blank. */
export function readLink(env: Env, variable: string): string | undefined {
  // SKU links are named at run time (CHASE_LINK_SKU_<SKU>), so they are not in the generated Env type.
  const value: unknown = Reflect.get(env, variable);
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/**
 * The link with `client_reference_id` set to the user, so the payment webhook knows whom to credit
 * (https://docs.stripe.com/payment-links/url-parameters). A link that is not an https URL is a 503.
 */
export function paymentLink(link: string, variable: string, userId: string | undefined): string {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new NotConfigured(variable, "is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new NotConfigured(variable, "is not a URL");
  if (userId === undefined) return link;
  url.searchParams.set("client_reference_id", userId);
  return url.toString();
}
