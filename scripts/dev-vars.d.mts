/** Where `npm start` keeps the local secrets. */
export const DEV_VARS_PATH: string;
/** The committed template of `.dev.vars`. */
export const DEV_VARS_EXAMPLE_PATH: string;
/** The text of a new `.dev.vars`: every `=change-me` a fresh random hex secret, every `#local ` line active. */
export function fillDevVars(example: string): string;
/** Creates `target` from `example` unless it exists; true when it created it. */
export function createDevVars(example?: string, target?: string): boolean;
/** The variables of a dotenv text (the shell-safe subset the example uses). */
export function parseDevVars(text: string): Record<string, string>;
/** The variables of `.dev.vars`; throws an Error for the user when the file is missing. */
export function readDevVars(path?: string): Record<string, string>;
