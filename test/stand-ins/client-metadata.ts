import { createServer } from "node:http";
import { json, listenOnLoopback, readBody } from "./http.ts";

/**
 * Stand-in for the web servers of OAuth clients that publish a Client ID Metadata Document (their `client_id` is
 * the document's https URL). The relay reaches it through test/stand-ins/client-host-router.mjs, which sends
 * `https://<host>.cimd.test/<path>` here as `/<host>.cimd.test/<path>`.
 *   PUT /__documents/<host>/<path>   stores the body (any text) as that URL's document
 *   GET /__fetched/<host>/<path>     how many times the document was fetched
 *   GET /<host>/<path>               the document (application/json, not cacheable), or 404 when none is stored
 * Any other method answers 599.
 */
export async function startClientMetadataStandIn() {
  const documents = new Map<string, string>();
  const fetched = new Map<string, number>();
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://stand-in").pathname;
    if (req.method === "PUT" && path.startsWith("/__documents/")) {
      documents.set(path.slice("/__documents".length), await readBody(req));
      return json(res, 200, { ok: true });
    }
    if (req.method === "GET" && path.startsWith("/__fetched/")) {
      return json(res, 200, { fetched: fetched.get(path.slice("/__fetched".length)) ?? 0 });
    }
    if (req.method === "GET") {
      fetched.set(path, (fetched.get(path) ?? 0) + 1);
      const document = documents.get(path);
      if (document === undefined) return json(res, 404, { error: "no such document" });
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      return res.end(document);
    }
    return json(res, 599, { error: `stand-in: no route ${req.method} ${path}` });
  });
  return listenOnLoopback(server);
}
