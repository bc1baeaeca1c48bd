/**
 * `npx tsx bench/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> <added>`: what the heap
 * grew by between two snapshots (BENCH_HEAP_SNAPSHOTS=1 writes them after each wave of
 * subscribers), per added thing: bytes and count by node type and constructor, biggest first.
 * Run with NODE_OPTIONS=--max-old-space-size=8000 for snapshots of thousands of sockets.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** count and self size by "type:name" (all strings, all numbers each counted as one kind). */
function aggregate(file: string): Map<string, [number, number]> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const byKind = new Map<string, [number, number]>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const kind = types[snap.nodes[i + type]!]!;
    const label = kind.includes('string') ? '(string)' : kind === 'number' ? '(number)' : snap.strings[snap.nodes[i + name]!]!.slice(0, 60);
    const entry = byKind.get(`${kind}:${label}`) ?? [0, 0];
    entry[0] += 1;
    entry[1] += snap.nodes[i + size]!;
    byKind.set(`${kind}:${label}`, entry);
  }
  return byKind;
}

const [beforeFile, afterFile, addedArg] = process.argv.slice(2);
if (!beforeFile || !afterFile || !addedArg) throw new Error('usage: heap-diff <before.heapsnapshot> <after.heapsnapshot> <added>');
const added = Number(addedArg);
const before = aggregate(beforeFile);
const rows = [...aggregate(afterFile)].map(([key, [count, bytes]]) => {
  const [count0, bytes0] = before.get(key) ?? [0, 0];
  return { key, count: (count - count0) / added, bytes: (bytes - bytes0) / added };
});
rows.sort((a, b) => b.bytes - a.bytes);
console.log(`${rows.reduce((sum, r) => sum + r.bytes, 0).toFixed(0)} bytes per added one, by kind:`);
for (const r of rows.slice(0, 40)) console.log(`${r.bytes.toFixed(0).padStart(7)} B ${r.count.toFixed(2).padStart(7)} × ${r.key}`);
