/** A monotonically increasing count. */
export interface Counter {
  inc(by?: number): void;
  readonly value: number;
}

/**
 * A distribution of durations, Prometheus-style: a count per bucket, their sum and count. Observing
 * is a walk along a dozen bounds and an increment, cheap enough to do once per socket write.
 */
export interface Histogram {
  /** One duration, in seconds; one not known (NaN) is not counted. */
  observe(seconds: number): void;
}

interface HistogramEntry {
  help: string;
  /** Upper bounds in seconds, ascending; +Inf is implicit. */
  bounds: readonly number[];
  /** Per bucket (not cumulative), the last one for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * The process's counters, gauges and histograms, read by an operator at `GET /metrics` (Prometheus
 * text format, admin token required) and by the tests and the benchmark the same way: how often the change log is
 * read, how many events are built and executed per change, how well the metadata cache serves.
 * Counting is an increment; nothing is kept per project or per request.
 */
export class Metrics {
  private readonly counters = new Map<string, { help: string; value: number }>();
  private readonly gauges = new Map<string, { help: string; read: () => number }>();
  private readonly histograms = new Map<string, HistogramEntry>();

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

  /** The histogram of that name with these bucket bounds (seconds), created on first use. */
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    let entry = this.histograms.get(name);
    if (!entry) this.histograms.set(name, (entry = { help, bounds, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 }));
    const h = entry;
    return {
      observe(seconds) {
        if (Number.isNaN(seconds)) return;
        let i = 0;
        while (i < h.bounds.length && seconds > h.bounds[i]!) i++;
        h.counts[i]!++;
        h.sum += seconds;
        h.count++;
      },
    };
  }

  /** Every counter's and gauge's current value, by name (histograms: their `_count` and `_sum`). */
  snapshot(): Record<string, number> {
    return Object.fromEntries([
      ...[...this.counters].map(([name, { value }]) => [name, value]),
      ...[...this.gauges].map(([name, { read }]) => [name, read()]),
      ...[...this.histograms].flatMap(([name, { count, sum }]) => [[`${name}_count`, count], [`${name}_sum`, sum]]),
    ]);
  }

  /** The Prometheus text exposition of every counter, gauge and histogram. */
  render(): string {
    const counters = [...this.counters].map(([name, { help, value }]) => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${value}\n`);
    const gauges = [...this.gauges].map(([name, { help, read }]) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${read()}\n`);
    const histograms = [...this.histograms].map(([name, { help, bounds, counts, sum, count }]) => {
      let cumulative = 0;
      const buckets = counts.map((n, i) => `${name}_bucket{le="${i < bounds.length ? bounds[i] : '+Inf'}"} ${(cumulative += n)}\n`);
      return `# HELP ${name} ${help}\n# TYPE ${name} histogram\n${buckets.join('')}${name}_sum ${sum}\n${name}_count ${count}\n`;
    });
    return [...counters, ...gauges, ...histograms].join('');
  }
}
