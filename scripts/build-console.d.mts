/** Where the built console goes: `assets.directory` in wrangler.jsonc. */
export const CONSOLE_DIST: string;
/** Builds the console into console/dist; resolves to the files it wrote (relative to console/dist). */
export function buildConsole(): Promise<string[]>;
