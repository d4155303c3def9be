/**
 * Whether a POST of the consent form comes from the consent page itself, as far as the browser says. The form
 * is also bound to the page by its one-time handle and that handle's `__Host-` SameSite cookie (the library's
 * consent transaction); this check refuses a cross-site post before the handle is even read, so a forged post
 * cannot use up the owner's page.
 *
 * - `Sec-Fetch-Site` (Fetch Metadata), sent by every current browser, must be `same-origin` when present:
 *   `same-site` is refused too (a sibling subdomain is not this relay).
 * - `Origin`, when present, must be this relay's origin. `Origin: null` is refused: sandboxed frames, data:
 *   URLs and pages with `Referrer-Policy: no-referrer` anywhere send it, so it says nothing about who posted.
 * - With neither header (an old browser, a script), the handle and its cookie are the whole protection.
 */
export function sentFromThisOrigin(request: Request): boolean {
  const site = request.headers.get("Sec-Fetch-Site");
  if (site !== null && site !== "same-origin") return false;
  const origin = request.headers.get("Origin");
  return origin === null || origin === new URL(request.url).origin;
}
