import { writeFile } from 'node:fs/promises';
import WebSocket from 'ws';
import type { Child } from './processes.js';
import { sleep } from './stats.js';

/**
 * The node flag that lets the bench read a server's live memory: the inspector stays closed
 * (nothing changes in the process) until the bench sends SIGUSR1, and then listens on a port the
 * OS picks, on 127.0.0.1 only.
 */
export const HEAP_PROBE_FLAG = '--inspect-port=127.0.0.1:0';

/**
 * A server's live memory after a full garbage collection, read through its inspector: what its
 * objects hold (V8 heap in use plus memory outside it: socket buffers, typed arrays), without the
 * free heap V8 keeps reserved, which makes RSS move by megabytes between two readings of the
 * same state.
 */
export class HeapProbe {
  private nextId = 1;
  private readonly pending = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id !== undefined) this.pending.get(message.id)?.(message);
    });
  }

  /** Opens the inspector of `child` (started with HEAP_PROBE_FLAG) and connects to it. */
  static async open(child: Child): Promise<HeapProbe> {
    process.kill(child.pid, 'SIGUSR1');
    const deadline = performance.now() + 10_000;
    let url: string | undefined;
    while (!(url = /Debugger listening on (ws:\/\/\S+)/.exec(child.output())?.[1])) {
      if (performance.now() > deadline) throw new Error(`pid ${child.pid} opened no inspector: was it started with ${HEAP_PROBE_FLAG}?`);
      await sleep(50);
    }
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new HeapProbe(socket);
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (message) => {
        this.pending.delete(id);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** heapUsed + external of process.memoryUsage() after two full collections, in bytes. */
  async liveBytes(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const { result } = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    const usage = JSON.parse(result.value) as { heapUsed: number; external: number };
    return usage.heapUsed + usage.external;
  }

  /** Writes a heap snapshot (Chrome's .heapsnapshot format) to `file`, after a full GC. */
  async snapshot(file: string): Promise<void> {
    const chunks: string[] = [];
    const onChunk = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data)) as { method?: string; params?: { chunk: string } };
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(message.params!.chunk);
    };
    this.socket.on('message', onChunk);
    try {
      await this.call('HeapProfiler.collectGarbage');
      await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    } finally {
      this.socket.off('message', onChunk);
    }
    await writeFile(file, chunks.join(''));
  }

  close(): void {
    this.socket.close();
  }
}
