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

/** Reads of a body under an idle time (idleReads). */
export type IdleReads = {
  /** The next part; UpstreamStalled when nothing came for `idleMs` while waiting for it. */
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Lets the body go (and stops watching it). */
  cancel(reason?: unknown): Promise<void>;
  /** Stops watching: the body is done. */
  stop(): void;
};

/**
 * Reads `body` part by part, each read ending in UpstreamStalled when nothing comes for `idleMs`. One timer
 * watches every read, re-armed only when it fires, instead of one timer per read: a stream of a thousand
 * events costs a handful of timers, not a thousand.
 */
export function idleReads(body: ReadableStream<Uint8Array>, idleMs: number): IdleReads {
  const reader = body.getReader();
  let since = Date.now();
  let fail: ((error: Error) => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = () => {
    const idle = Date.now() - since;
    if (fail && idle >= idleMs) {
      timer = undefined;
      fail(new UpstreamStalled("The upstream sent nothing in time"));
    } else timer = fail ? setTimeout(watch, idleMs - idle) : undefined;
  };
  return {
    read() {
      since = Date.now();
      timer ??= setTimeout(watch, idleMs);
      return new Promise((resolve, reject) => {
        fail = reject;
        reader.read().then(
          (part) => {
            fail = undefined;
            since = Date.now();
            resolve(part);
          },
          (error: unknown) => {
            fail = undefined;
            reject(error);
          },
        );
      });
    },
    cancel(reason) {
      this.stop();
      return reader.cancel(reason);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
      fail = undefined;
    },
  };
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
  const reads = idleReads(body, idleMs);
  let size = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let part: ReadableStreamReadResult<Uint8Array>;
        try {
          part = await reads.read();
        } catch (error) {
          const stall = error instanceof UpstreamStalled;
          onEnd(stall ? "upstream_stalled" : "upstream_broke");
          if (stall) void reads.cancel(error).catch(() => {});
          else reads.stop();
          controller.error(error);
          return;
        }
        if (part.done) {
          reads.stop();
          onEnd("complete");
          controller.close();
          return;
        }
        size += part.value.byteLength;
        if (size > maxBytes) {
          onEnd("upstream_too_large");
          void reads.cancel().catch(() => {});
          controller.error(new UpstreamTooLarge(`The upstream sent more than ${maxBytes} bytes`));
          return;
        }
        controller.enqueue(part.value);
      },
      async cancel(reason) {
        onEnd("client_cancelled");
        await reads.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
