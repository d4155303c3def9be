// Runs the OpenAI stand-in in its own process, so that the load generator does not share its event loop.
import { startOpenAIStandIn } from "../test/stand-ins/openai.ts";

const standIn = await startOpenAIStandIn();
process.stdout.write(`${standIn.url}\n`);
process.on("SIGTERM", () => standIn.close().then(() => process.exit(0)));
