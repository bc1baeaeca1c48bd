import type { Histogram } from '../metrics.js';

/** The byte stream under a socket, as Node's Writable has it. */
export interface CorkableStream {
  cork(): void;
  uncork(): void;
}

/**
 * The frames handed to sockets in one turn of the event loop go out together: a socket's stream
 * is corked at its first frame of the turn, and every corked stream is uncorked on the next tick
 * (the pattern Node documents for `writable.cork()`). A hub read dispatches its changes to every
 * subscriber in one synchronous pass, so each socket gets one `writev` per read, however many
 * frames the read brought it.
 *
 * Why (issue 16, 5,000 subscribers at 10 inserts/s on 2 shared cores): writing each frame as it
 * is built makes one change's delivery take about 250 ms of wall time, more than the 100 ms
 * between changes, so reads fall further behind each time; building all the frames first and
 * writing them at the end of the turn takes about 95 ms.
 *
 * The commit → socket-write time (WRITE_DELAY_METRIC) of a frame is observed here, when its
 * bytes are handed to the kernel, not when the frame was queued behind the cork.
 */
export class TurnWrites {
  private readonly corked = new Set<CorkableStream>();
  /** The change times (epoch ms) of the frames handed over this turn, observed at the flush. */
  private readonly changeTimes: number[] = [];
  private flushScheduled = false;

  constructor(private readonly writeDelay: Histogram) {}

  /** Holds the stream's writes until the end of this turn (once per stream per turn). */
  hold(stream: CorkableStream | undefined): void {
    if (stream === undefined || this.corked.has(stream)) return;
    stream.cork();
    this.corked.add(stream);
    this.scheduleFlush();
  }

  /** A frame of a change made at `atMs` was handed to its socket this turn. */
  written(atMs: number): void {
    this.changeTimes.push(atMs);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  /** Sends what this turn held and counts its frames' write delays. */
  private flush(): void {
    this.flushScheduled = false;
    for (const stream of this.corked) stream.uncork();
    this.corked.clear();
    const now = Date.now();
    for (const atMs of this.changeTimes) this.writeDelay.observe((now - atMs) / 1000);
    this.changeTimes.length = 0;
  }
}
