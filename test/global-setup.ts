import type { TestProject } from "vitest/node";
import { startOpenAIStandIn } from "./stand-ins/openai";

declare module "vitest" {
  export interface ProvidedContext {
    openaiStandIn: string;
  }
}

/** Starts the stand-in upstreams once for the whole run; their URLs reach the Worker as bindings. */
export default async function setup(project: TestProject) {
  const openai = await startOpenAIStandIn();
  project.provide("openaiStandIn", openai.url);
  return async () => {
    await openai.close();
  };
}
