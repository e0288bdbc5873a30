/**
 * `npm run build:cli` (also `prepare`, so `npm ci`/`npm install`/`npm pack` run it): compiles the
 * CLI into dist/ with esbuild, so that `sidekiq-migrate` starts without compiling TypeScript.
 *
 * dist/sidekiq-migrate.js is the entry; what only some commands need (the AWS SDK for the deployed
 * commands, the local Step Functions emulator for run/move) sits in chunks loaded on first use.
 * Every dependency is bundled: the installed package needs nothing from node_modules. The Lua
 * steps go to dist/lua/, where core/redis/lua-script.ts finds them beside the bundle (as in the
 * Lambda bundles, infra/constructs/migration-functions.ts).
 */
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = (relative: string) => fileURLToPath(new URL(`../${relative}`, import.meta.url));

/** Builds dist/; returns the files written (relative to the repository root). */
export async function buildCli(): Promise<string[]> {
  const outdir = root('dist');
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { 'sidekiq-migrate': root('cli/main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    // CommonJS dependencies (ioredis, commander) call require() for Node's own modules.
    banner: { js: "import { createRequire as __smCreateRequire } from 'node:module'; const require = __smCreateRequire(import.meta.url);" },
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  cpSync(root('core/redis/lua'), `${outdir}/lua`, { recursive: true });
  return Object.keys(result.metafile.outputs);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await buildCli();
  process.stdout.write(`built ${files.filter((f) => f.endsWith('.js')).length} files into dist/ (entry dist/sidekiq-migrate.js, Lua steps in dist/lua/)\n`);
}
