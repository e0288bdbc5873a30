#!/usr/bin/env node
// The `sidekiq-migrate` executable. It runs the compiled CLI, dist/sidekiq-migrate.js (built by
// `npm run build:cli`, which `npm ci`, `npm install` and `npm pack` run as `prepare`): it starts
// in a fraction of a second and needs nothing from node_modules. In a checkout without dist/, or
// with SIDEKIQ_MIGRATE_FROM_SOURCE=1, it runs the TypeScript sources through tsx instead.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { URL } from 'node:url';

// Node 22.1+ keeps V8's compiled code of the bundle on disk between runs; Node 20 has no such cache.
module.enableCompileCache?.();

const compiled = new URL('../dist/sidekiq-migrate.js', import.meta.url);
const fromSource = process.env.SIDEKIQ_MIGRATE_FROM_SOURCE === '1' || !existsSync(compiled);
let main;
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
} else {
  ({ main } = await import(compiled.href));
}
process.exitCode = await main(process.argv);
// Done: exit even if a library left a timer running. ioredis arms a command's timeout (30 s) on a
// connection that failed in its handshake and never clears it, which kept a failed run alive that
// long after its message. A second's grace for what closes by itself; stdout and stderr are
// written synchronously to pipes and terminals on Linux, so nothing printed is lost.
globalThis.setTimeout(() => process.exit(), 1_000).unref();
