/** What happened to a body the relay passed through, for the log. */
export type StreamEnd = "complete" | "client_cancelled" | "upstream_broke" | "upstream_stalled" | "upstream_too_large";

/** The upstream sent nothing more within the idle time. */
export class UpstreamStalled extends Error {}
class UpstreamTooLarge extends Error {}

/** `read`'s result, or UpstreamStalled when `idleMs` pass first. */
export async function withinIdle<T>(read: Promise<T>, idleMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpstreamStalled("The upstream sent nothing in time")), idleMs);
  });
  try {
    return await Promise.race([read, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Passes a body through chunk by chunk and reports how it ended. An upstream that breaks off mid-body, sends
 * nothing for `idleMs`, or sends more than `maxBytes` errors the client's stream (the client sees the answer
 * end in an error, never a hang); a client that goes away cancels the upstream read, which closes the
 * upstream connection.
 */
export function watchStream(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  maxBytes: number,
  onEnd: (end: StreamEnd) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let size = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let part: ReadableStreamReadResult<Uint8Array>;
        try {
          part = await withinIdle(reader.read(), idleMs);
        } catch (error) {
          const stall = error instanceof UpstreamStalled;
          onEnd(stall ? "upstream_stalled" : "upstream_broke");
          if (stall) void reader.cancel(error).catch(() => {});
          controller.error(error);
          return;
        }
        if (part.done) {
          onEnd("complete");
          controller.close();
          return;
        }
        size += part.value.byteLength;
        if (size > maxBytes) {
          onEnd("upstream_too_large");
          void reader.cancel().catch(() => {});
          controller.error(new UpstreamTooLarge(`The upstream sent more than ${maxBytes} bytes`));
          return;
        }
        controller.enqueue(part.value);
      },
      async cancel(reason) {
        onEnd("client_cancelled");
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
