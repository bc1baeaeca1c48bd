/**
 * `npm run build` (after the dbServices compile): bundles the data browser (web/src) with esbuild
 * into dist/web: index.html and assets/<name>-<hash>.js|css, which src/transports/web-ui.ts
 * serves. `--watch` rebuilds on change (`npm run dev:web`).
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const webDir = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../dist/web/', import.meta.url));

/** Writes index.html naming the assets of this build. */
async function writeIndex(metafile: esbuild.Metafile) {
  const outputs = Object.keys(metafile.outputs).map((path) => basename(path));
  const js = outputs.find((name) => name.endsWith('.js'));
  const css = outputs.find((name) => name.endsWith('.css'));
  if (!js || !css) throw new Error(`the bundle lacks a script or a stylesheet: ${outputs.join(', ')}`);
  const template = await readFile(`${webDir}index.html`, 'utf8');
  await writeFile(`${outDir}index.html`, template.replace('{{js}}', `/assets/${js}`).replace('{{css}}', `/assets/${css}`));
}

const options: esbuild.BuildOptions = {
  entryPoints: [`${webDir}src/main.tsx`],
  bundle: true,
  outdir: `${outDir}assets`,
  entryNames: '[name]-[hash]',
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
  plugins: [
    {
      name: 'index-html',
      setup(build) {
        build.onEnd(async (result) => {
          if (result.metafile) await writeIndex(result.metafile);
        });
      },
    },
  ],
};

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
if (process.argv.includes('--watch')) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log('web: watching web/src, rebuilding dist/web on change');
} else {
  await esbuild.build(options);
}
