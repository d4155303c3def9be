import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";

/**
 * The consent page and its error pages: plain HTML, no script at all, and a Content-Security-Policy that
 * allows nothing but the page's own stylesheet (by its hash) and a form posted back here. Everything that
 * came from the client (its name, redirect host, scopes) is escaped.
 */

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}fieldset{border:1px solid #ccc;border-radius:.4rem;margin:1rem 0}label{display:block;margin:.4rem 0}
input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}button{padding:.5rem 1.2rem;margin-right:.5rem}
.warning{background:#fff4d6;border-left:4px solid #e0a800;padding:.5rem .8rem}code{background:#f2f2f2;padding:0 .2rem}`;

let styleHash: Promise<string> | undefined;

/** `'sha256-…'` of the stylesheet, the only thing the policy lets the page load. */
function styleSource(): Promise<string> {
  styleHash ??= crypto.subtle
    .digest("SHA-256", new TextEncoder().encode(STYLE))
    .then((digest) => `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`);
  return styleHash;
}

/** Escapes text for HTML element content and quoted attribute values. */
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * The policy of a page: nothing but its stylesheet, never framed, and a form that may post only back here.
 * Chromium applies `form-action` to the redirect that follows the post too, so the consent page also allows
 * the origin of the client's registered redirect URI (the only place its answer redirects to).
 * The consent page's referrer policy is `same-origin`, not `no-referrer`: under `no-referrer` a browser posts
 * the form with `Origin: null` (Fetch, "serialize a request origin"), which an ORIGIN_ALLOWLIST refuses and
 * which proves nothing; under `same-origin` it names this relay, and the client's host still gets no Referer.
 */
async function securityHeaders(formTarget: string | null): Promise<Record<string, string>> {
  const formAction = formTarget === null ? "'none'" : `'self' ${formTarget}`;
  return {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": `default-src 'none'; style-src ${await styleSource()}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": formTarget === null ? "no-referrer" : "same-origin",
    "Cache-Control": "no-store",
  };
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

/** What the consent page shows about a request; every string from the client is escaped here. */
export async function consentPage(details: ConsentDescription, handle: string, headers: Headers): Promise<Response> {
  const name = escapeHtml(details.clientName);
  const requested =
    details.scope.length > 0 ? details.scope.map((s) => `<code>${escapeHtml(s)}</code>`).join(" ") : "none";
  const origin = details.clientDomain
    ? `It is published by <strong>${escapeHtml(details.clientDomain)}</strong>.`
    : "It registered itself: its name is not verified.";
  const loopback = details.redirectIsLoopback
    ? `<p class="warning">Access goes to an app on this computer. Continue only if you started signing in from it just now.</p>`
    : "";
  const body = `<h1>Allow ${name} to use Kora on this relay?</h1>
<p>${origin} If you allow it, its access goes to <strong>${escapeHtml(details.redirectHost)}</strong>. It asked for: ${requested}.</p>
${loopback}
<form method="post" action="/authorize">
<input type="hidden" name="handle" value="${escapeHtml(handle)}">
<fieldset><legend>What it may do</legend>
<label><input type="radio" name="access" value="read" checked> Read only: search, fetch and list pull requests</label>
<label><input type="radio" name="access" value="write"> Read and write: also comment, add labels, dispatch Hivemind tasks and trigger the foreman</label>
</fieldset>
<label for="admin_token">The relay's ADMIN_TOKEN, to approve as its owner</label>
<input id="admin_token" name="admin_token" type="password" autocomplete="off" required>
<p><button name="decision" value="approve">Allow</button><button name="decision" value="deny" formnovalidate>Deny</button></p>
</form>`;
  const formTarget = new URL(details.redirectUri).origin;
  const response = new Response(page(`Allow ${details.clientName}?`, body), { headers });
  for (const [key, value] of Object.entries(await securityHeaders(formTarget === "null" ? null : formTarget))) {
    response.headers.set(key, value);
  }
  return response;
}

/** An error page for what cannot be sent back to the client (an unverified client or redirect URI, a wrong token). */
export async function errorPage(status: number, message: string): Promise<Response> {
  const body = `<h1>Kora could not authorize this app</h1><p>${escapeHtml(message)}</p>`;
  return new Response(page("Authorization failed", body), { status, headers: await securityHeaders(null) });
}
