// The outbound service of the Worker under test (vitest.config.mts, `outboundService`): every fetch the Worker
// (and the tests in its isolate) makes goes through here. A URL on a host under `cimd.test` is sent to the
// client-metadata stand-in on 127.0.0.1 (test/stand-ins/client-metadata.ts), as if that host served it over
// https; anything else goes out unchanged. Only the vitest configuration can install an outbound service:
// wrangler.jsonc, `wrangler dev` and a deployed Worker have no such setting, and the relay has no code for it.
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    if (url.protocol !== "https:" || !url.hostname.endsWith(".cimd.test")) return fetch(request);
    return fetch(new Request(`${env.CLIENT_METADATA_STAND_IN}/${url.hostname}${url.pathname}`, request));
  },
};
