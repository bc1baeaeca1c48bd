import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.js';
import { WRITE_DELAY_BOUNDS, WRITE_DELAY_HELP, WRITE_DELAY_METRIC } from '../src/transports/group-fan-out.js';
import { TurnWrites } from '../src/transports/turn-writes.js';

/**
 * TurnWrites on a real Node Writable that records each write it is asked to do (net.Socket
 * implements the same two methods with a syscall each): what reaches the stream, and when.
 */
class RecordingStream extends Writable {
  readonly writes: string[][] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.writes.push([String(chunk)]);
    callback();
  }
  override _writev(chunks: { chunk: Buffer }[], callback: () => void): void {
    this.writes.push(chunks.map(({ chunk }) => String(chunk)));
    callback();
  }
}

const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve));

function setUp() {
  const metrics = new Metrics();
  const turn = new TurnWrites(metrics.histogram(WRITE_DELAY_METRIC, WRITE_DELAY_HELP, WRITE_DELAY_BOUNDS));
  const delays = () => metrics.snapshot();
  return { turn, delays };
}

describe('TurnWrites', () => {
  it("sends a stream's frames of one turn in one write, at the end of the turn", async () => {
    const { turn } = setUp();
    const a = new RecordingStream();
    const b = new RecordingStream();
    for (const frame of ['1', '2', '3']) {
      turn.hold(a);
      a.write(frame);
      turn.hold(b);
      b.write(`b${frame}`);
    }
    expect(a.writes).toEqual([]);
    await nextTick();
    expect(a.writes).toEqual([['1', '2', '3']]);
    expect(b.writes).toEqual([['b1', 'b2', 'b3']]);
    // The next turn is held again, and sent on its own.
    turn.hold(a);
    a.write('4');
    a.write('5');
    await nextTick();
    expect(a.writes).toEqual([['1', '2', '3'], ['4', '5']]);
    // Without a hold, Node writes each frame as it comes (the first at once, the rest together once it is done).
    a.write('6');
    expect(a.writes.at(-1)).toEqual(['6']);
  });

  it('leaves a stream its own corks: one its owner opened inside the turn is closed by its owner', async () => {
    const { turn } = setUp();
    const stream = new RecordingStream();
    turn.hold(stream);
    // What ws does around a frame's header and payload.
    stream.cork();
    stream.write('header');
    stream.write('payload');
    stream.uncork();
    expect(stream.writes).toEqual([]);
    await nextTick();
    expect(stream.writes).toEqual([['header', 'payload']]);
    expect(stream.writableCorked).toBe(0);
  });

  it('counts each frame\'s commit → write delay when its bytes are sent, not when it was queued', async () => {
    const { turn, delays } = setUp();
    const stream = new RecordingStream();
    const madeAt = Date.now() - 40;
    turn.hold(stream);
    stream.write('x');
    turn.written(madeAt);
    turn.written(madeAt);
    expect(delays()[`${WRITE_DELAY_METRIC}_count`]).toBe(0);
    await nextTick();
    expect(delays()[`${WRITE_DELAY_METRIC}_count`]).toBe(2);
    expect(delays()[`${WRITE_DELAY_METRIC}_sum`]).toBeGreaterThanOrEqual(0.08);
  });
});
