import { type AdminApi, type GrantView, messageOf } from "../api";
import { fill, h, notice, table } from "../dom";
import { formatTime } from "../format";

/**
 * MCP clients connected over OAuth (the consent page's approvals): who, with what scope, since when; Revoke cuts
 * one off at once (its access and refresh tokens end).
 */
export async function renderConnections(root: HTMLElement, api: AdminApi): Promise<void> {
  const status = h("div", { class: "status", "aria-live": "polite" });
  const list = h("div", {});

  const load = async () => {
    try {
      const { grants } = await api.get<{ grants: GrantView[] }>("/admin/oauth/grants");
      fill(
        list,
        table(
          "MCP clients connected with OAuth, newest first",
          ["Client", "Client id", "Access", "Approved", ""],
          grants.map((grant) => [
            grant.client_name ?? "(name unavailable)",
            h("code", {}, grant.client_id),
            grant.scopes.includes("write") ? "read and write" : "read only",
            formatTime(grant.created_at),
            h(
              "button",
              {
                type: "button",
                class: "danger",
                "aria-label": `Revoke ${grant.client_name ?? grant.client_id}`,
                onclick: () => revoke(grant),
              },
              "Revoke",
            ),
          ]),
          "No client is connected.",
        ),
      );
    } catch (error) {
      fill(list, notice("error", messageOf(error)));
    }
  };

  const revoke = async (grant: GrantView) => {
    const name = grant.client_name ?? grant.client_id;
    if (!window.confirm(`Revoke “${name}”? Its access ends now; it must be approved again to connect.`)) return;
    let outcome: HTMLElement;
    try {
      await api.post(`/admin/oauth/grants/${encodeURIComponent(grant.id)}/revoke`);
      outcome = notice("ok", `“${name}” revoked.`);
    } catch (error) {
      outcome = notice("error", messageOf(error));
    }
    // The list first, then the message: whoever reads the message finds the list already up to date.
    await load();
    fill(status, outcome);
  };

  fill(
    root,
    h(
      "p",
      {},
      "Each approval on the consent page of /mcp is a grant. Revoking one ends its access and refresh tokens at once.",
    ),
    status,
    list,
  );
  await load();
}
