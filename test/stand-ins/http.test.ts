import { createServer } from "node:http";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { listenOnLoopback, readBody } from "./http";

describe("the stand-ins' HTTP helpers", () => {
  it("readBody returns what arrived when the client resets the connection before the body's end", async () => {
    let read: Promise<string> | undefined;
    const server = createServer((req, res) => {
      // As a busy test process does: the body is read after the client has already given up.
      read = new Promise((done) => setTimeout(done, 200)).then(() => readBody(req));
      void read.then(() => res.end());
    });
    const { url, close } = await listenOnLoopback(server);
    try {
      const socket = connect(Number(new URL(url).port), "127.0.0.1", () => {
        socket.write("POST /s/x/ok/v1/chat/completions HTTP/1.1\r\nHost: stand-in\r\nContent-Length: 100\r\n\r\n0123");
        setTimeout(() => socket.resetAndDestroy(), 50);
      });
      socket.on("error", () => undefined);
      await new Promise((done) => setTimeout(done, 100));
      // Rejecting instead ("aborted") would be an unhandled rejection in the stand-in: the end of the test run.
      await expect(read).resolves.toBeTypeOf("string");
    } finally {
      await close();
    }
  });

  it("keeps an idle kept-alive connection open (Node would close it after 5 s while a request may arrive)", async () => {
    const server = createServer((_req, res) => res.end());
    const { close } = await listenOnLoopback(server);
    expect(server.keepAliveTimeout).toBe(0);
    await close();
  });
});
