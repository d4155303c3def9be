import type { TestProject } from "vitest/node";
import { startClientMetadataStandIn } from "./stand-ins/client-metadata";
import { startGitHubStandIn } from "./stand-ins/github";
import { startJwksStandIn } from "./stand-ins/jwks";
import { startOpenAIStandIn } from "./stand-ins/openai";
import { startWebhookReceiver } from "./stand-ins/webhook-receiver";

declare module "vitest" {
  export interface ProvidedContext {
    openaiStandIn: string;
    githubStandIn: string;
    jwksStandIn: string;
    jwksPrivateKey: Record<string, string>;
    webhookReceiver: string;
    clientMetadataStandIn: string;
  }
}

/** Starts the stand-in upstreams once for the whole run; their URLs reach the Worker as bindings. */
export default async function setup(project: TestProject) {
  const openai = await startOpenAIStandIn();
  project.provide("openaiStandIn", openai.url);
  const github = await startGitHubStandIn();
  project.provide("githubStandIn", github.url);
  const jwks = await startJwksStandIn();
  project.provide("jwksStandIn", jwks.url);
  project.provide("jwksPrivateKey", jwks.privateKey);
  const receiver = await startWebhookReceiver();
  project.provide("webhookReceiver", receiver.url);
  const clientMetadata = await startClientMetadataStandIn();
  project.provide("clientMetadataStandIn", clientMetadata.url);
  return async () => {
    await clientMetadata.close();
    await receiver.close();
    await openai.close();
    await github.close();
    await jwks.close();
  };
}
