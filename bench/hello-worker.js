// The floor: the smallest Worker that answers, with the same JSON body as the relay's health route.
export default {
  fetch() {
    return new Response('{"status":"ok"}', { headers: { "Content-Type": "application/json" } });
  },
};
