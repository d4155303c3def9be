import { describe, expect, it } from "vitest";
import { mcpStatus } from "../../../test/support/mcp";
import {
  authorizeQuery,
  decide,
  documentFetches,
  openConsent,
  pkcePair,
  publishClientDocument,
  tokenRequest,
} from "../../../test/support/oauth";
import { relay, uniqueId } from "../../../test/support/relay";

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-00, as MCP 2026-07-28 pins it): a
 * client whose client_id is an https URL is described by the JSON document at that URL. The documents are served
 * by a stand-in on 127.0.0.1 that the Worker reaches at https://*.cimd.test (vitest.config.mts).
 */

/** A client's document URL of its own, and the document it would publish there. */
function clientOf(name = "Example App") {
  const host = `${uniqueId("app").toLowerCase()}.cimd.test`;
  const clientId = `https://${host}/oauth/client.json`;
  const redirectUri = `https://${host}/callback`;
  const document = {
    client_id: clientId,
    client_name: name,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
  return { clientId, redirectUri, document };
}

describe("OAuth: Client ID Metadata Documents", () => {
  it("advertises them beside dynamic registration (RFC 8414 metadata)", async () => {
    const metadata = (await (await relay("/.well-known/oauth-authorization-server")).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      client_id_metadata_document_supported: true,
      registration_endpoint: "https://relay.test/oauth/register",
    });
  });

  it("lets a client named by its document's URL complete the flow: consent, code, tokens, /mcp", async () => {
    const { clientId, redirectUri, document } = clientOf();
    await publishClientDocument(clientId, document);
    const { verifier, challenge } = await pkcePair();
    const form = await openConsent(authorizeQuery(clientId, challenge, { redirect_uri: redirectUri }));
    expect(form.response.status, form.page).toBe(200);
    // The page names the client as its document does, and the domain that published it (verified by the fetch).
    expect(form.page).toContain("Allow Example App to use Kora on this relay?");
    expect(form.page).toContain(`It is published by <strong>${new URL(clientId).hostname}</strong>.`);
    const approved = await decide(form, { access: "read" });
    const location = new URL(approved.headers.get("Location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    const { response, json } = await tokenRequest({
      grant_type: "authorization_code",
      code: location.searchParams.get("code") ?? "",
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: redirectUri,
    });
    expect(response.status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ token_type: "bearer", scope: "read" });
    expect(await mcpStatus(json.access_token as string)).toBe(200);
    expect(await documentFetches(clientId)).toBeGreaterThanOrEqual(1);
  });

  it("refuses a redirect URI its document does not list, on the relay's page, never redirecting", async () => {
    const { clientId, document } = clientOf();
    await publishClientDocument(clientId, document);
    const query = authorizeQuery(clientId, (await pkcePair()).challenge, {
      redirect_uri: "https://evil.test/callback",
    });
    const response = await relay(`/authorize?${query}`, { redirect: "manual" });
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
    expect(await response.text()).toContain("Kora could not authorize this app");
  });

  it.each([
    [
      "names another client_id than its URL",
      (doc: Record<string, unknown>) => ({ ...doc, client_id: "https://other.cimd.test/c.json" }),
    ],
    ["carries a client secret", (doc: Record<string, unknown>) => ({ ...doc, client_secret: "s3cret" })],
    ["is not JSON", () => "<html>not a document</html>"],
  ])("refuses a document that %s, on the relay's page", async (_, change) => {
    const { clientId, redirectUri, document } = clientOf();
    await publishClientDocument(clientId, change(document));
    const query = authorizeQuery(clientId, (await pkcePair()).challenge, { redirect_uri: redirectUri });
    const response = await relay(`/authorize?${query}`, { redirect: "manual" });
    expect([response.status, response.headers.get("Location")]).toEqual([400, null]);
    expect(await response.text()).toContain("This app&#39;s metadata document could not be read.");
  });

  it("refuses a client whose document is not there, at the consent page and at the token endpoint", async () => {
    const { clientId, redirectUri } = clientOf();
    const query = authorizeQuery(clientId, (await pkcePair()).challenge, { redirect_uri: redirectUri });
    const page = await relay(`/authorize?${query}`, { redirect: "manual" });
    expect([page.status, page.headers.get("Location")]).toEqual([400, null]);
    const { response, json } = await tokenRequest({
      grant_type: "authorization_code",
      code: "x:y:z",
      code_verifier: "v".repeat(43),
      client_id: clientId,
      redirect_uri: redirectUri,
    });
    expect([response.status, json.error]).toEqual([401, "invalid_client"]);
  });
});
