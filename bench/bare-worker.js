// The baseline: a bare pass-through Worker with nothing of the relay's (no auth, no limiter, no parsing).
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(`${env.UPSTREAM}${url.pathname.replace(/^\/v1/, "")}`, {
      method: request.method,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${env.OPENAI_API_KEY}` },
      body: request.body,
    });
  },
};
