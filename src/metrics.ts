/** A monotonically increasing count. */
export interface Counter {
  inc(by?: number): void;
  readonly value: number;
}

/**
 * The process's counters, read by an operator at `GET /metrics` (Prometheus text format, admin
 * token required) and by the tests and the benchmark the same way: how often the change log is
 * read, how many events are built and executed per change, how well the metadata cache serves.
 * Counting is an increment; nothing is kept per project or per request.
 */
export class Metrics {
  private readonly counters = new Map<string, { help: string; value: number }>();

  /** The counter of that name, created on first use (the same object for every caller). */
  counter(name: string, help: string): Counter {
    let entry = this.counters.get(name);
    if (!entry) this.counters.set(name, (entry = { help, value: 0 }));
    const counted = entry;
    return {
      inc: (by = 1) => void (counted.value += by),
      get value() {
        return counted.value;
      },
    };
  }

  /** Every counter's current value, by name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counters].map(([name, { value }]) => [name, value]));
  }

  /** The Prometheus text exposition of every counter. */
  render(): string {
    return [...this.counters].map(([name, { help, value }]) => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${value}\n`).join('');
  }
}
