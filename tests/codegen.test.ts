import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateFiles } from '../codegen.js';

/**
 * The committed schema.graphql and dbServices' typed documents must be what `npm run codegen`
 * makes from the schema and operations of this commit: codegen runs here in memory and every
 * output is compared with the file in the tree.
 */
describe('codegen', () => {
  it('the committed generated files match the schema and the operations', async () => {
    const outputs = await generateFiles();
    expect(outputs.map((o) => o.filename).sort()).toEqual(['schema.graphql', 'src/dbservices/generated/graphql.ts']);
    for (const output of outputs) {
      const committed = await readFile(resolve(import.meta.dirname, '..', output.filename), 'utf8');
      expect(committed, `${output.filename} is stale: run npm run codegen`).toBe(output.content);
    }
  }, 60_000);
});
