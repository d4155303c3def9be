import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { operations, SECURITY_SCHEME } from "./contract";

/**
 * The connector's OpenAPI 3.1 document, from the same zod schemas the routes validate with, without its
 * `servers` (the route adds the origin that serves it). Generated when the relay is built
 * (`scripts/build-openapi.mjs` writes it to openapi.json), so that the generator never reaches the Worker.
 *
 * zod-to-openapi is used directly rather than through @hono/zod-openapi, whose `import { z } from "zod"`
 * would pull every zod locale in.
 */
export function openApiDocument() {
  const registry = new OpenAPIRegistry();
  for (const route of Object.values(operations)) registry.registerPath(route);
  registry.registerComponent("securitySchemes", SECURITY_SCHEME, {
    type: "http",
    scheme: "bearer",
    description: "The relay's CHATGPT_BEARER_TOKEN (ChatGPT Actions: Authentication, API key, Bearer).",
  });
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Kora connector",
      version: "1.0.0",
      description: "Start Hivemind tasks and list, comment on and label pull requests of allowed repositories.",
    },
  });
}
