import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Report } from './report.js';
import { root } from './processes.js';

export async function writeBenchmarksMd(report: Report, run: { started: Date; seconds: number; postgres: string }) {
  void report; void run; void writeFile; void join; void root;
}
