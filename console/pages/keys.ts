import { type AdminApi, type ListedKey, messageOf } from "../api";
import { field, fill, h, notice, table } from "../dom";
import { formatCount, formatTime, formatUsd } from "../format";

/** "1,200 of 50,000 (2 %)" with a meter, or what was used and "no budget". */
function budgetCell(used: number, budget: number | null, format: (n: number) => string): HTMLElement {
  if (budget === null) return h("span", {}, `${format(used)} (no budget)`);
  const percent = Math.round((used / budget) * 1000) / 10;
  return h(
    "span",
    { class: "budget" },
    h("meter", { min: 0, max: budget, value: Math.min(used, budget), low: budget * 0.8, high: budget, optimum: 0 }),
    ` ${format(used)} of ${format(budget)} (${percent} %)`,
  );
}

/** Tokens and cost a key used this month against its budgets. */
export function keyBudgetCells(key: ListedKey): HTMLElement[] {
  return [
    budgetCell(key.month_usage.tokens, key.monthly_token_budget, formatCount),
    budgetCell(key.month_usage.cost_usd, key.monthly_cost_budget_usd, formatUsd),
  ];
}

/** Active, revoked or expired: said in words. */
function statusOf(key: ListedKey): string {
  if (key.revoked_at !== null) return `Revoked ${formatTime(key.revoked_at)}`;
  if (key.expires_at !== null && Date.parse(key.expires_at) <= Date.now())
    return `Expired ${formatTime(key.expires_at)}`;
  return "Active";
}

/** A number field's value, or undefined when left empty. */
function numberOf(input: HTMLInputElement): number | undefined {
  return input.value.trim() === "" ? undefined : Number(input.value);
}

/** Relay keys: create one (its secret shown once, with a copy button), list them with spend against budget, revoke. */
export async function renderKeys(root: HTMLElement, api: AdminApi): Promise<void> {
  const status = h("div", { class: "status", "aria-live": "polite" });
  const list = h("div", {});
  const secretBox = h("div", {});

  const name = h("input", { name: "name", required: true, maxlength: 100, autocomplete: "off" });
  const chat = h("input", { type: "checkbox", name: "scope-chat", checked: true });
  const trigger = h("input", { type: "checkbox", name: "scope-trigger" });
  const userId = h("input", { name: "user_id", autocomplete: "off", pattern: "[A-Za-z0-9_\\-]{1,200}" });
  const models = h("input", { name: "models", autocomplete: "off" });
  const tokens = h("input", { name: "monthly_token_budget", type: "number", min: 1, step: 1 });
  const cost = h("input", { name: "monthly_cost_budget_usd", type: "number", min: 0.01, step: 0.01 });
  const perMinute = h("input", { name: "rate_limit_per_minute", type: "number", min: 1, step: 1 });
  const expires = h("input", { name: "expires_at", type: "datetime-local" });

  const showSecret = (key: ListedKey, secret: string) => {
    const copied = h("span", { role: "status" });
    const code = h("code", { id: "new-secret", tabindex: 0 }, secret);
    fill(
      secretBox,
      h(
        "div",
        { class: "secret", role: "region", "aria-label": "New key secret" },
        h(
          "p",
          {},
          h("strong", {}, `Key “${key.name}” (${key.id}) created. `),
          "Copy its secret now: it is shown only once.",
        ),
        code,
        h(
          "p",
          {},
          h(
            "button",
            {
              type: "button",
              onclick: async () => {
                try {
                  await navigator.clipboard.writeText(secret);
                  copied.textContent = " Copied.";
                } catch {
                  copied.textContent = " Copying failed: select the secret and copy it by hand.";
                }
              },
            },
            "Copy secret",
          ),
          " ",
          h("button", { type: "button", onclick: () => fill(secretBox) }, "Done, hide it"),
          copied,
        ),
      ),
    );
  };

  const load = async () => {
    try {
      const { keys } = await api.get<{ keys: ListedKey[] }>("/admin/keys");
      fill(
        list,
        table(
          "Relay keys, newest first",
          ["Name", "Id", "Scopes", "User", "Requests this month", "Tokens", "Cost", "Created", "Status", ""],
          keys.map((key) => [
            key.name,
            h("code", {}, key.id),
            key.scopes.join(", "),
            key.user_id ?? "—",
            formatCount(key.month_usage.requests),
            ...keyBudgetCells(key),
            formatTime(key.created_at),
            statusOf(key),
            key.revoked_at === null
              ? h(
                  "button",
                  {
                    type: "button",
                    class: "danger",
                    "aria-label": `Revoke key ${key.name}`,
                    onclick: () => revoke(key),
                  },
                  "Revoke",
                )
              : null,
          ]),
          "No keys yet.",
          { actions: true, rowClasses: keys.map((key) => (key.revoked_at === null ? null : "revoked")) },
        ),
      );
    } catch (error) {
      fill(list, notice("error", messageOf(error)));
    }
  };

  const revoke = async (key: ListedKey) => {
    if (!window.confirm(`Revoke key “${key.name}” (${key.id})? Requests with it stop within a second.`)) return;
    let outcome: HTMLElement;
    try {
      await api.post(`/admin/keys/${key.id}/revoke`);
      outcome = notice("ok", `Key “${key.name}” revoked.`);
    } catch (error) {
      outcome = notice("error", messageOf(error));
    }
    // The list first, then the message: whoever reads the message finds the list already up to date.
    await load();
    fill(status, outcome);
  };

  const form = h(
    "form",
    {
      class: "panel",
      "aria-labelledby": "create-key-heading",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const scopes = [chat.checked ? "chat" : null, trigger.checked ? "trigger" : null].filter(Boolean);
        const modelList = models.value
          .split(",")
          .map((model) => model.trim())
          .filter(Boolean);
        const body = {
          name: name.value.trim(),
          scopes,
          user_id: userId.value.trim() || undefined,
          models: modelList.length > 0 ? modelList : undefined,
          monthly_token_budget: numberOf(tokens),
          monthly_cost_budget_usd: numberOf(cost),
          rate_limit_per_minute: numberOf(perMinute),
          expires_at: expires.value ? new Date(expires.value).toISOString() : undefined,
        };
        try {
          const created = await api.post<{ key: ListedKey; secret: string }>("/admin/keys", body);
          fill(status);
          form.reset();
          await load();
          showSecret(created.key, created.secret);
          document.getElementById("new-secret")?.focus();
        } catch (error) {
          fill(status, notice("error", messageOf(error)));
        }
      },
    },
    h("h3", { id: "create-key-heading" }, "Create a key"),
    h(
      "div",
      { class: "grid" },
      field("Name", name),
      h(
        "fieldset",
        {},
        h("legend", {}, "Scopes"),
        h("label", { class: "check" }, chat, " chat"),
        h("label", { class: "check" }, trigger, " trigger"),
      ),
      field("User id (optional)", userId, "Chat with this key is also this user's."),
      field("Models (optional)", models, "Comma-separated; empty: every allowed model."),
      field("Monthly token budget (optional)", tokens),
      field("Monthly cost budget, USD (optional)", cost),
      field("Requests per minute (optional)", perMinute),
      field("Expires (optional, your local time)", expires),
    ),
    h("button", { type: "submit" }, "Create key"),
  );
  secretBox.setAttribute("tabindex", "-1");

  fill(root, form, secretBox, status, h("h3", {}, "Keys"), list);
  await load();
}
