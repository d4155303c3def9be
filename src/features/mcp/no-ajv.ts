/**
 * Stands in for `ajv` and `ajv-formats` in the bundle (wrangler.jsonc, "alias"). The MCP SDK's Server imports
 * Ajv for its default JSON Schema validator, which the relay replaces (server.ts): Ajv compiles schemas with
 * `new Function`, which workerd forbids, and it is a third of the SDK's weight. Nothing may construct it.
 */
export default class Ajv {
  constructor() {
    throw new Error("Ajv is not bundled; pass a jsonSchemaValidator");
  }
}
