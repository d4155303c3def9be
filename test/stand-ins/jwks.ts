import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Stand-in for an identity provider's JWKS endpoint on 127.0.0.1: `GET /jwks.json` answers the public half
 * of a fresh ES256 key; tests get the private half (as a JWK) to sign user tokens. Any other path is 599.
 */
export async function startJwksStandIn() {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const kid = "stand-in-key-1";
  const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" }] };
  const server = createServer((request, response) => {
    if (request.method === "GET" && request.url === "/jwks.json") {
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(jwks));
      return;
    }
    response.writeHead(599).end(`unexpected ${request.method} ${request.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    privateKey: { ...(privateKey.export({ format: "jwk" }) as Record<string, string>), kid, alg: "ES256" },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
