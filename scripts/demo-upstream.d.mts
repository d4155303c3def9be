/** The model name the demo answers with, whatever model was asked for. */
export const DEMO_MODEL: "demo";
/** The dummy key `npm start` gives the relay for the demo. */
export const DEMO_API_KEY: "demo";
/** Whether `npm start` should run the demo upstream for these `.dev.vars` (no key, no OPENAI_BASE_URL). */
export function usesDemoUpstream(vars: Record<string, string | undefined>): boolean;
/** The canned answer for a request of `messageCount` messages. */
export function demoReply(messageCount: number): string;
/** A running demo upstream: its base URL (ending in /v1), its port, and how to stop it. */
export type DemoUpstream = { url: string; port: number; close(): Promise<void> };
/** Starts the demo upstream on 127.0.0.1 (port 0: any free port). */
export function startDemoUpstream(options?: { port?: number }): Promise<DemoUpstream>;
