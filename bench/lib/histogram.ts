/**
 * Reading a server's Prometheus histogram between two scrapes of GET /metrics: the count and
 * the p50/p99 of what was observed in between, as the upper bound of the bucket they fall in
 * (a histogram keeps no finer detail: "≤ 50 ms" is all it knows).
 */
import { fmt } from './stats.js';

export interface HistogramSummary {
  count: number;
  /** Upper bounds in ms of the buckets holding the median and the 99th percentile; Infinity past the last bound. */
  p50: number;
  p99: number;
}

/** Cumulative bucket counts by upper bound (seconds), in order. */
function buckets(text: string, name: string): [number, number][] {
  const pattern = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm');
  return [...text.matchAll(pattern)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
}

export function histogramBetween(before: string, after: string, name: string): HistogramSummary {
  const start = new Map(buckets(before, name));
  const delta = buckets(after, name).map(([le, n]) => [le, n - (start.get(le) ?? 0)] as const);
  const count = delta.at(-1)?.[1] ?? 0;
  const at = (p: number) => delta.find(([, n]) => n >= Math.ceil((p / 100) * count))?.[0] ?? Number.NaN;
  return { count, p50: count ? at(50) * 1000 : Number.NaN, p99: count ? at(99) * 1000 : Number.NaN };
}

export const describeHistogram = (h: HistogramSummary) => (h.count ? `p50 ≤ ${fmt(h.p50)} ms, p99 ≤ ${fmt(h.p99)} ms (${h.count} frames)` : 'not measured (no frames counted)');
