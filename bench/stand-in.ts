// Runs the OpenAI and GitHub stand-ins in a process of their own, so that the load generator does not share
// their event loop. Prints `{"openai": url, "github": url}` on one line.
import { startGitHubStandIn } from "../test/stand-ins/github.ts";
import { startOpenAIStandIn } from "../test/stand-ins/openai.ts";

const [openai, github] = await Promise.all([startOpenAIStandIn(), startGitHubStandIn()]);
process.stdout.write(`${JSON.stringify({ openai: openai.url, github: github.url })}\n`);
process.on("SIGTERM", () => Promise.all([openai.close(), github.close()]).then(() => process.exit(0)));
