/** What happened to a body the relay passed through, for the log. */
export type StreamEnd = "complete" | "client_cancelled" | "upstream_broke";

/**
 * Passes a body through chunk by chunk and reports how it ended. An upstream that breaks off mid-body errors
 * the client's stream (the client sees the answer end in an error, never a hang); a client that goes away
 * cancels the upstream read, which closes the upstream connection.
 */
export function watchStream(
  body: ReadableStream<Uint8Array>,
  onEnd: (end: StreamEnd) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let part: ReadableStreamReadResult<Uint8Array>;
        try {
          part = await reader.read();
        } catch (error) {
          onEnd("upstream_broke");
          controller.error(error);
          return;
        }
        if (part.done) {
          onEnd("complete");
          controller.close();
        } else {
          controller.enqueue(part.value);
        }
      },
      async cancel(reason) {
        onEnd("client_cancelled");
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
