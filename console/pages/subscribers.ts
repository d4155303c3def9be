import { type AdminApi, type EntitlementsCheck, type HistoryEvent, IdempotencyKey, messageOf } from "../api";
import { field, fill, h, notice, table } from "../dom";
import { formatTime } from "../format";

type Revocable =
  | { type: "subscription"; tier: string; source_ref: string; label: string }
  | { type: "purchase"; sku: string; label: string };

const TIERS = ["monthly", "quarterly", "yearly"];

/**
 * Subscribers: look a user up (entitlements per source and the whole history), grant, and revoke with a
 * reason. Every grant and revocation sends an Idempotency-Key, so a double submit is applied once.
 */
export async function renderSubscribers(root: HTMLElement, api: AdminApi): Promise<void> {
  const status = h("div", { class: "status", "aria-live": "polite" });
  const details = h("div", {});
  const userInput = h("input", {
    name: "user_id",
    required: true,
    autocomplete: "off",
    pattern: "[A-Za-z0-9_\\-]{1,200}",
  });
  let current = "";

  const show = async (userId: string) => {
    current = userId;
    try {
      const [check, history] = await Promise.all([
        api.get<EntitlementsCheck>("/entitlements/check", { user_id: userId }),
        api.get<{ events: HistoryEvent[] }>("/entitlements/history", { user_id: userId }),
      ]);
      fill(details, ...userView(check, history.events));
      grantHeading.textContent = `Grant to ${userId}`;
      grantForm.hidden = false;
    } catch (error) {
      fill(details, notice("error", messageOf(error)));
    }
  };

  const revokeForm = (item: Revocable) => {
    const reason = h("input", { name: "reason", required: true, maxlength: 500, autocomplete: "off" });
    const idempotency = new IdempotencyKey();
    reason.addEventListener("input", () => idempotency.reset());
    const form = h(
      "form",
      {
        class: "inline-form",
        "aria-label": `Revoke ${item.label}`,
        onsubmit: async (event: Event) => {
          event.preventDefault();
          const body =
            item.type === "subscription"
              ? { user_id: current, type: "subscription", tier: item.tier, source_ref: item.source_ref }
              : { user_id: current, type: "purchase", sku: item.sku };
          try {
            await api.post(
              "/entitlements/revoke",
              { ...body, reason: reason.value.trim() },
              {
                "Idempotency-Key": idempotency.current(),
              },
            );
            idempotency.settle();
            await show(current);
            fill(status, notice("ok", `Revoked ${item.label} of ${current}.`));
          } catch (error) {
            idempotency.settle(error);
            fill(status, notice("error", messageOf(error)));
          }
        },
      },
      field("Reason", reason),
      h("button", { type: "submit", class: "danger" }, "Revoke"),
      h("button", { type: "button", onclick: () => form.remove() }, "Cancel"),
    );
    return form;
  };

  /** A "Revoke…" button that opens the reason form beneath it. */
  const revokeButton = (item: Revocable) => {
    const cell = h("div", {});
    const button = h(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Revoke ${item.label}`,
        onclick: () => {
          const form = revokeForm(item);
          cell.append(form);
          form.querySelector("input")?.focus();
        },
      },
      "Revoke…",
    );
    cell.append(button);
    return cell;
  };

  const userView = (check: EntitlementsCheck, events: HistoryEvent[]) => [
    h("h3", {}, `User ${check.user_id}`),
    h(
      "p",
      {},
      h("strong", {}, check.has_access ? "Has access." : "No access."),
      " Access is the union of every source below.",
    ),
    table(
      "Subscriptions, one per source",
      ["Tier", "Status", "Expires", "Source", ""],
      check.subscriptions.map((sub) => [
        sub.tier,
        sub.status,
        formatTime(sub.expires_at),
        h("code", {}, sub.source),
        sub.status === "revoked"
          ? null
          : revokeButton({
              type: "subscription",
              tier: sub.tier,
              source_ref: sub.source,
              label: `${sub.tier} subscription from ${sub.source}`,
            }),
      ]),
      "No subscriptions.",
    ),
    table(
      "Purchases held (unrevoked)",
      ["SKU", "Since", ""],
      check.purchases.map((purchase) => [
        purchase.sku,
        formatTime(purchase.purchased_at),
        revokeButton({ type: "purchase", sku: purchase.sku, label: `purchase of ${purchase.sku}` }),
      ]),
      "No purchases.",
    ),
    table(
      "History, oldest first",
      ["When", "Event", "What", "Source", "Expires", "Reason"],
      events.map((event) => [
        formatTime(event.created_at),
        event.type,
        event.entitlement === "subscription" ? `${event.tier ?? ""} subscription` : `purchase of ${event.sku ?? ""}`,
        h("code", {}, event.source_ref ?? event.source),
        formatTime(event.expires_at),
        event.reason ?? "—",
      ]),
      "No events.",
    ),
  ];

  // The grant form: subscription (tier, optional expiry) or purchase (SKU), an optional reason.
  const grantType = h(
    "select",
    { name: "type" },
    h("option", { value: "subscription" }, "Subscription"),
    h("option", { value: "purchase" }, "Purchase"),
  );
  const tier = h("select", { name: "tier" }, ...TIERS.map((t) => h("option", { value: t }, t)));
  const sku = h("input", { name: "sku", autocomplete: "off", pattern: "[A-Za-z0-9_\\-]{1,64}" });
  const expires = h("input", { name: "expires_at", type: "datetime-local" });
  const reason = h("input", { name: "grant_reason", maxlength: 500, autocomplete: "off" });
  const tierField = field("Tier", tier);
  const expiresField = field(
    "Expires (optional, your local time)",
    expires,
    "Empty: one period from now or from the latest expiry.",
  );
  const skuField = field("SKU", sku);
  const showFields = () => {
    const subscription = grantType.value === "subscription";
    tierField.hidden = !subscription;
    expiresField.hidden = !subscription;
    skuField.hidden = subscription;
    sku.required = !subscription;
  };
  grantType.addEventListener("change", showFields);
  const grantKey = new IdempotencyKey();
  const grantHeading = h("h3", { id: "grant-heading" }, "Grant");
  const grantForm = h(
    "form",
    {
      class: "panel",
      "aria-labelledby": "grant-heading",
      oninput: () => grantKey.reset(),
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const because = reason.value.trim() || undefined;
        const body =
          grantType.value === "subscription"
            ? {
                user_id: current,
                type: "subscription",
                tier: tier.value,
                expires_at: expires.value ? new Date(expires.value).toISOString() : undefined,
                reason: because,
              }
            : { user_id: current, type: "purchase", sku: sku.value.trim(), reason: because };
        try {
          await api.post("/entitlements/grant", body, { "Idempotency-Key": grantKey.current() });
          grantKey.settle();
          grantForm.reset();
          showFields();
          await show(current);
          fill(status, notice("ok", `Granted to ${current}.`));
        } catch (error) {
          grantKey.settle(error);
          fill(status, notice("error", messageOf(error)));
        }
      },
    },
    grantHeading,
    h(
      "div",
      { class: "grid" },
      field("Type", grantType),
      tierField,
      expiresField,
      skuField,
      field("Reason (optional)", reason),
    ),
    h("button", { type: "submit" }, "Grant"),
  );
  showFields();
  grantForm.hidden = true;

  const lookup = h(
    "form",
    {
      class: "panel",
      role: "search",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        fill(status);
        await show(userInput.value.trim());
      },
    },
    h("div", { class: "row" }, field("User id", userInput), h("button", { type: "submit" }, "Look up")),
  );

  fill(root, lookup, status, details, grantForm);
}
