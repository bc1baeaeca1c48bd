/** A monotonically increasing count. */
export interface Counter {
  inc(by?: number): void;
  readonly value: number;
}

/**
 * The process's counters and gauges, read by an operator at `GET /metrics` (Prometheus text format, admin
 * token required) and by the tests and the benchmark the same way: how often the change log is
 * read, how many events are built and executed per change, how well the metadata cache serves.
 * Counting is an increment; nothing is kept per project or per request.
 */
export class Metrics {
  private readonly counters = new Map<string, { help: string; value: number }>();
  private readonly gauges = new Map<string, { help: string; read: () => number }>();

  /** A value read when the metrics are (how many subscribers now): `read` is the one source of it. */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

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

  /** Every counter's and gauge's current value, by name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...[...this.counters].map(([name, { value }]) => [name, value]), ...[...this.gauges].map(([name, { read }]) => [name, read()])]);
  }

  /** The Prometheus text exposition of every counter and gauge. */
  render(): string {
    const counters = [...this.counters].map(([name, { help, value }]) => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${value}\n`);
    const gauges = [...this.gauges].map(([name, { help, read }]) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${read()}\n`);
    return [...counters, ...gauges].join('');
  }
}
