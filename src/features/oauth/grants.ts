import { CimdFetchError, type GrantSummary, type OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import type { GrantView } from "../../admin-api";
import { OWNER } from "./server";

export type { GrantView } from "../../admin-api";

/** A grant id as the library makes them: 16 characters of base64url. */
export const GRANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Every grant of the relay's owner (the only subject grants are issued to), oldest first. */
async function ownerGrants(api: OAuthHelpers): Promise<GrantSummary[]> {
  const grants: GrantSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.listUserGrants(OWNER, { limit: 1000, cursor });
    grants.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return grants.sort((a, b) => a.createdAt - b.createdAt);
}

/** The grants with their clients' names, newest first: one client lookup per client, not per grant. */
export async function listGrants(api: OAuthHelpers): Promise<GrantView[]> {
  const grants = await ownerGrants(api);
  const names = new Map<string, Promise<string | null>>();
  for (const grant of grants) {
    if (!names.has(grant.clientId)) names.set(grant.clientId, clientName(api, grant.clientId));
  }
  const views = await Promise.all(grants.map(async (grant) => view(grant, await names.get(grant.clientId))));
  return views.reverse();
}

/** The grant with this id, with its client's name, or null when there is none. */
export async function findGrant(api: OAuthHelpers, id: string): Promise<GrantView | null> {
  const grant = (await ownerGrants(api)).find((candidate) => candidate.id === id);
  return grant ? view(grant, await clientName(api, grant.clientId)) : null;
}

/**
 * Revokes a grant: the grant, its refresh token and every access token it issued are deleted, so /mcp refuses
 * them on their next request.
 */
export function revokeGrant(api: OAuthHelpers, id: string): Promise<void> {
  return api.revokeGrant(id, OWNER);
}

/** A client's name: a registered client's record, or a metadata document (fetched, or cached by the library). */
async function clientName(api: OAuthHelpers, clientId: string): Promise<string | null> {
  try {
    return (await api.lookupClient(clientId))?.clientName ?? null;
  } catch (error) {
    // A metadata document that cannot be read now leaves the grant listed, nameless.
    if (error instanceof CimdFetchError) return null;
    throw error;
  }
}

function view(grant: GrantSummary, clientName: string | null | undefined): GrantView {
  return {
    id: grant.id,
    client_id: grant.clientId,
    client_name: clientName ?? null,
    scopes: grant.scope,
    created_at: new Date(grant.createdAt * 1000).toISOString(),
  };
}
