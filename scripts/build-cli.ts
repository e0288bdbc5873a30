/**
 * `npm run build:cli` (also `prepare`, so `npm ci`/`npm install`/`npm pack` run it): compiles the
 * CLI into dist/ with esbuild, so that `sidekiq-migrate` starts without compiling TypeScript.
 *
 * dist/sidekiq-migrate.js is the entry; what only some commands need (the AWS SDK for the deployed
 * commands, the local Step Functions emulator for run/move) sits in chunks loaded on first use.
 * Every dependency is bundled: the installed package needs nothing from node_modules. The Lua
 * steps go to dist/lua/, where core/redis/lua-script.ts finds them beside the bundle (as in the
 * Lambda bundles, infra/constructs/migration-functions.ts); the bundled packages' licenses to
 * dist/THIRD-PARTY-LICENSES.txt.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = (relative: string) => fileURLToPath(new URL(`../${relative}`, import.meta.url));

/**
 * Builds dist/; returns the files written (relative to the repository root).
 *
 * dist/ is updated in place, file by file, each written whole (a temporary file renamed over it)
 * and only when its bytes changed; files no longer built are removed last. It was deleted and
 * written again: a CLI started meanwhile by another vitest process in the same checkout (the
 * global setup builds it: two test files run at once, each its own vitest) failed with
 * ERR_MODULE_NOT_FOUND for dist/chunks/…, or the build itself with ENOTEMPTY. Chunk names carry
 * their content's hash, so unchanged sources rebuild to the same files and nothing is rewritten.
 */
export async function buildCli(): Promise<string[]> {
  const outdir = root('dist');
  const result = await build({
    absWorkingDir: root(''),
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
    write: false,
    logLevel: 'warning',
    plugins: [emulatorStubs, zodEnglishOnly],
  });
  const built = new Set<string>();
  const put = (path: string, bytes: Uint8Array) => {
    built.add(path);
    if (existsSync(path) && Buffer.compare(readFileSync(path), bytes) === 0) return;
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  };
  // What the entry loads first (its chunks, the Lua files its steps read), the entry last: a CLI
  // started mid-build loads the old entry, whose files are still there (stale ones go last), or
  // the new one, whose files are all there already.
  const entry = join(outdir, 'sidekiq-migrate.js');
  const isEntry = (path: string) => path === entry || path === `${entry}.map`;
  const lua = root('core/redis/lua');
  for (const file of filesUnder(lua)) put(join(outdir, 'lua', relative(lua, file)), readFileSync(file));
  put(join(outdir, 'THIRD-PARTY-LICENSES.txt'), Buffer.from(thirdPartyLicenses(Object.keys(result.metafile.inputs))));
  for (const file of result.outputFiles) if (!isEntry(file.path)) put(file.path, file.contents);
  for (const file of result.outputFiles) if (isEntry(file.path)) put(file.path, file.contents);
  // A temporary file is another build's while its process runs; a killed build's is removed (npm
  // pack would ship it).
  for (const file of filesUnder(outdir)) if (!built.has(file) && !(file.endsWith('.tmp') && writerRuns(file))) rmSync(file, { force: true });
  return Object.keys(result.metafile.outputs);
}

/** Whether the build that writes the temporary file `path` (`….PID.tmp`) still runs. */
function writerRuns(path: string): boolean {
  const pid = Number(/\.(\d+)\.tmp$/.exec(path)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: a process of another user runs with that pid (it may be the build).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every file under `dir` (none when it does not exist), by absolute path. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** The license of every package bundled (their licenses ask for their notice to travel with the code). */
function thirdPartyLicenses(inputs: readonly string[]): string {
  const packages = new Set<string>();
  for (const input of inputs) {
    const at = input.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const [first, second] = input.slice(at + 'node_modules/'.length).split('/');
    packages.add(input.slice(0, at) + `node_modules/${first!.startsWith('@') ? `${first}/${second}` : first}`);
  }
  const sections = [...packages].sort().map((dir) => {
    // Metafile paths are relative to absWorkingDir (node_modules may be a symlink elsewhere).
    const path = resolve(root(''), dir);
    const manifest = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
    const file = readdirSync(path).find((f) => /^(licen[cs]e|copying)/i.test(f));
    const text = file && existsSync(join(path, file)) ? readFileSync(join(path, file), 'utf8').trim() : `(no license file; package.json says ${manifest.license ?? 'nothing'})`;
    return `${manifest.name}@${manifest.version} (${manifest.license ?? '?'})\n\n${text}\n`;
  });
  return `Packages bundled into dist/ by scripts/build-cli.ts, with their licenses.\n\n${sections.join(`\n${'-'.repeat(72)}\n\n`)}`;
}

/**
 * aws-local-stepfunctions imports what the local runner never uses: the AWS Lambda client and
 * Cognito credentials (it calls them for a Task without a local handler; every Task of ours has
 * one) and asl-validator (it compiles the whole ASL JSON schema; the runner passes `noValidate`,
 * as test/workflow/state-machine-definition.test.ts validates the definition). In the bundle they
 * are stand-ins that throw if called: `run` loads ~100 ms and tens of MB less.
 */
const EMULATOR_STUBS: Readonly<Record<string, string>> = {
  '@aws-sdk/client-lambda': `export class LambdaClient { constructor() { ${fail('invoked a Lambda function: a Task state has no local handler')} } }\nexport class InvokeCommand {}`,
  '@aws-sdk/credential-providers': `export function fromCognitoIdentityPool() { ${fail('asked for AWS credentials')} }`,
  'asl-validator': `export default function aslValidator() { ${fail('validated the definition at run time (it is validated at build time: pass noValidate)')} }`,
};

function fail(what: string): string {
  return `throw new Error(${JSON.stringify(`sidekiq-migrate: the local Step Functions emulator ${what}; not supported by the compiled CLI`)});`;
}

const emulatorStubs: Plugin = {
  name: 'emulator-stubs',
  setup(plugins) {
    const filter = new RegExp(`^(${Object.keys(EMULATOR_STUBS).map((n) => n.replace(/[/.-]/g, '\\$&')).join('|')})$`);
    plugins.onResolve({ filter }, (args) => (/[/\\]aws-local-stepfunctions[/\\]/.test(args.importer) ? { path: args.path, namespace: 'emulator-stub' } : undefined));
    plugins.onLoad({ filter: /.*/, namespace: 'emulator-stub' }, (args) => ({ contents: EMULATOR_STUBS[args.path]!, loader: 'js' }));
  },
};

/**
 * zod re-exports every one of its ~50 locales as `z.locales`, so the bundle carried them all
 * (366 KB of the entry's 2.3 MB), parsed and compiled at every start of every command. The CLI
 * uses none of them but English, which zod sets by default (`config(en())`, imported on its own):
 * `z.locales` holds `en` only here. Start-up CPU of `--help` 405 → 380 ms (bench/README.md,
 * audit-speed2).
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(plugins) {
    plugins.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[/\\]zod[/\\]v4[/\\](classic|core)$/.test(args.resolveDir) ? { path: 'locales', namespace: 'zod-english-only', pluginData: join(args.resolveDir, '..', 'locales') } : undefined));
    // Its own path names no package (no node_modules/): the license list reads en.js's, zod's.
    plugins.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({ contents: 'export { default as en } from "./en.js";', loader: 'js', resolveDir: args.pluginData as string }));
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await buildCli();
  process.stdout.write(`built ${files.filter((f) => f.endsWith('.js')).length} files into dist/ (entry dist/sidekiq-migrate.js, Lua steps in dist/lua/)\n`);
}
