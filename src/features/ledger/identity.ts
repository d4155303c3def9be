/** A user as the ledger knows them: its id, and the identity provider's `sub` when the request carried one. */
export type LedgerUser = { id: string; subject?: string };

/** The ledger's user ids: the only ids Stripe keeps as `client_reference_id` (it drops anything else silently). */
export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;

/** The prefix of ids derived from a JWT subject; an id that looks like one is itself derived, never taken as is. */
export const DERIVED_PREFIX = "idh-";

const encoder = new TextEncoder();

/**
 * The ledger id of a JWT subject. A subject that is already a valid user id is used as is; any other
 * (`alice@example.com`, `auth0|123`, an id starting with `idh-`) becomes `idh-` + the base64url SHA-256 of
 * the subject: stable, 47 characters, and accepted by Stripe, so every signed-in user can pay and be
 * credited. Hashing the `idh-` look-alikes too keeps the mapping one-to-one.
 */
export async function ledgerUserId(subject: string): Promise<string> {
  if (USER_ID_PATTERN.test(subject) && !subject.startsWith(DERIVED_PREFIX)) return subject;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(subject)));
  const base64 = btoa(String.fromCharCode(...digest));
  return `${DERIVED_PREFIX}${base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/**
 * The KV key of the user's original record (`user:{user_id}`), or undefined when it cannot be known: the
 * original relay stored users under their raw subject, so a derived id needs the subject to find it.
 */
export function kvKeyOf(user: LedgerUser): string | undefined {
  if (user.subject !== undefined) return `user:${user.subject}`;
  return user.id.startsWith(DERIVED_PREFIX) ? undefined : `user:${user.id}`;
}
