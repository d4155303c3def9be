import { createServer } from "node:http";
import { json, listenOnLoopback, parseRecorded, readBody } from "./http.ts";

/** One delivery the receiver got. */
export type Delivery = { headers: Record<string, string | string[] | undefined>; body: string; status: number };

/**
 * Stand-in for a receiver of the relay's own webhooks (budget alerts) on 127.0.0.1: `POST /alerts` records
 * each delivery and answers 200, or 503 while a failure set up for that delivery's subject lasts.
 *   POST /__fail            `{"subject": "key:…", "times": 2}`: the next two deliveries about it fail
 *   GET  /__received?subject=…  what was delivered about one subject (`data.subject`), in order
 * Any other path answers 599.
 */
export async function startWebhookReceiver() {
  const deliveries: Delivery[] = [];
  const failures = new Map<string, number>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    if (req.method === "POST" && url.pathname === "/__fail") {
      const { subject, times } = JSON.parse(await readBody(req)) as { subject: string; times: number };
      failures.set(subject, times);
      return json(res, 200, { ok: true });
    }
    if (req.method === "GET" && url.pathname === "/__received") {
      const subject = url.searchParams.get("subject");
      return json(
        res,
        200,
        deliveries.filter((d) => (parseRecorded(d.body) as { data?: { subject?: string } }).data?.subject === subject),
      );
    }
    if (req.method === "POST" && url.pathname === "/alerts") {
      const body = await readBody(req);
      const subject = (parseRecorded(body) as { data?: { subject?: string } }).data?.subject ?? "";
      const left = failures.get(subject) ?? 0;
      const status = left > 0 ? 503 : 200;
      if (left > 0) failures.set(subject, left - 1);
      deliveries.push({ headers: req.headers, body, status });
      return json(res, status, { received: status === 200 });
    }
    return json(res, 599, { error: `stand-in: no route ${req.method} ${url.pathname}` });
  });
  return listenOnLoopback(server);
}
