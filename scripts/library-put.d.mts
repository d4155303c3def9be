/** What `npm run library:put` uploads. */
export type LibraryPutCommand = {
  file: string;
  path: string;
  sku: string | undefined;
  tier: string | undefined;
  title: string;
  contentType: string;
  url: string;
};

/** The upload a command line asks for; throws an Error whose message is for the user. */
export function parseCommand(argv: string[]): LibraryPutCommand;
/** ADMIN_TOKEN from the environment, else from .dev.vars. */
export function adminToken(env?: Record<string, string | undefined>, devVars?: string): string;
/** The request URL, each path segment percent-encoded. */
export function uploadUrl(command: LibraryPutCommand): string;
/** Streams the file to the relay and returns the relay's answer. */
export function putFile(command: LibraryPutCommand, token: string): Promise<Response>;
