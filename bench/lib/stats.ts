/** Percentiles, CPU accounting and the summary rows every bench section produces. */

/** Nearest-rank p-th percentile (0–100) of samples already sorted; NaN when there are none. */
function ranked(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The p-th percentile (0–100) of samples, nearest-rank; NaN when there are none. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  return ranked(Float64Array.from(samples).sort(), p);
}

export interface Latencies {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(samples: ArrayLike<number>): Latencies {
  const sorted = Float64Array.from(samples).sort();
  return { count: sorted.length, p50: ranked(sorted, 50), p99: ranked(sorted, 99), max: ranked(sorted, 100) };
}

/** CPU this process used between start() and stop(), as a share of one core over the wall time. */
export function cpuMeter() {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const used = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    return { cpuMs: (used.user + used.system) / 1000, wallMs, share: (used.user + used.system) / 1000 / wallMs };
  };
}

/** One line of the summary table. `higherIsBetter` decides how ratio and target compare. */
export interface Figure {
  section: string;
  name: string;
  unit: string;
  ours: number | null;
  floor: number | null;
  /** ours / floor, or null without a floor. */
  ratio: number | null;
  target: string;
  met: boolean | null;
  note?: string;
}

export const ratioOf = (ours: number | null, floor: number | null) =>
  ours === null || floor === null || !Number.isFinite(ours) || !Number.isFinite(floor) || floor === 0 ? null : ours / floor;

export function fmt(value: number | null, unit = ''): string {
  if (value === null || Number.isNaN(value)) return '—';
  const digits = Number.isInteger(value) || Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects when `promise` takes longer than `ms`, naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}
