import { fmt, ratioOf, type Figure } from './stats.js';

/** Collects the summary figures and the detail lines of a run. */
export class Report {
  readonly figures: Figure[] = [];
  readonly details: string[] = [];
  readonly missing: string[] = [];

  /** A figure where more is better (throughput): met when ours/floor >= minRatio. */
  atLeast(section: string, name: string, unit: string, ours: number | null, floor: number | null, minRatio: number, note?: string) {
    const ratio = ratioOf(ours, floor);
    this.figures.push({ section, name, unit, ours, floor, ratio, target: `≥ ${minRatio}× floor`, met: ratio === null ? null : ratio >= minRatio, note });
  }

  /** A figure where less is better, compared to the floor: met when ours/floor <= maxRatio. */
  atMostRatio(section: string, name: string, unit: string, ours: number | null, floor: number | null, maxRatio: number, note?: string) {
    const ratio = ratioOf(ours, floor);
    this.figures.push({ section, name, unit, ours, floor, ratio, target: `≤ ${maxRatio}× floor`, met: ratio === null ? null : ratio <= maxRatio, note });
  }

  /** An absolute bound (ms, KB, s); `floor` shown for reference when there is one. */
  atMost(section: string, name: string, unit: string, ours: number | null, limit: number, floor: number | null = null, note?: string) {
    this.figures.push({ section, name, unit, ours, floor, ratio: ratioOf(ours, floor), target: `≤ ${limit} ${unit}`, met: ours === null || Number.isNaN(ours) ? null : ours <= limit, note });
  }

  /** ours - floor <= maxGap. */
  withinOfFloor(section: string, name: string, unit: string, ours: number | null, floor: number | null, maxGap: number, note?: string) {
    const gap = ours === null || floor === null ? null : ours - floor;
    this.figures.push({ section, name, unit, ours, floor, ratio: ratioOf(ours, floor), target: `≤ floor + ${maxGap} ${unit}`, met: gap === null ? null : gap <= maxGap, note });
  }

  /** A figure reported without a target (context for the others). */
  info(section: string, name: string, unit: string, ours: number | null, floor: number | null = null, note?: string) {
    this.figures.push({ section, name, unit, ours, floor, ratio: ratioOf(ours, floor), target: '—', met: null, note });
  }

  detail(line: string) {
    this.details.push(line);
    console.log(`  ${line}`);
  }

  notMeasured(what: string) {
    this.missing.push(what);
    console.log(`  NOT MEASURED: ${what}`);
  }

  /** The summary as a markdown table (also readable in a terminal). */
  table(): string {
    const head = '| # | figure | ours | floor | ratio | target | met? |\n|---|---|---:|---:|---:|---|---|';
    const rows = this.figures.map(
      (f) =>
        `| ${f.section} | ${f.name}${f.note ? ` (${f.note})` : ''} | ${fmt(f.ours, f.unit)} | ${fmt(f.floor, f.unit)} | ${f.ratio === null ? '—' : `${f.ratio.toFixed(2)}×`} | ${f.target} | ${
          f.met === null ? '—' : f.met ? 'yes' : '**no**'
        } |`,
    );
    return [head, ...rows].join('\n');
  }
}
