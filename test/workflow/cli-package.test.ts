import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { repoPath } from '../support/paths.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The package as `npm pack` makes it (dist/ as the test run's global setup built it), installed
// with `npm install -g` into a prefix of its own: no node_modules beside it, no tsx, no CDK. What
// an operator runs after `npm install -g sidekiq-migrate-0.1.0.tgz`.
const redis = privateSourceAndTarget();
const work = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-package-'));
const prefix = join(work, 'prefix');
let packed: { path: string; size: number }[] = [];

const npm = (...args: string[]) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: work, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
const installed = (...args: string[]) =>
  // cwd and PATH away from the repository, so nothing can resolve from its node_modules.
  spawnSync(join(prefix, 'bin', 'sidekiq-migrate'), args, { cwd: work, encoding: 'utf8', env: { PATH: `${join(prefix, 'bin')}:${process.env['PATH']}`, HOME: work } });

beforeAll(() => {
  // --ignore-scripts: pack the dist/ this run built instead of building it again.
  const [report] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work, '--loglevel=error'], { cwd: repoPath(''), encoding: 'utf8' })) as [{ filename: string; files: { path: string; size: number }[] }];
  packed = report.files;
  // Offline: the package has no dependencies to fetch.
  npm('install', '--global', '--offline', '--prefix', prefix, join(work, report.filename));
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the installed package', () => {
  it('holds the compiled CLI and what it reads at run time, not the sources or the CDK app', () => {
    const paths = packed.map((f) => f.path);

    expect(paths).toEqual(expect.arrayContaining(['bin/sidekiq-migrate.js', 'dist/sidekiq-migrate.js', 'dist/THIRD-PARTY-LICENSES.txt', 'dist/lua/lib/guards.lua', 'dist/lua/rerouteQueueJobs-n4.lua', 'examples/gitlab-routing-rules.yml', 'test/fixtures/gitlab/all_queues.yml', 'README.md']));
    expect(paths.filter((p) => /^(cli|core|infra|functions|scripts|bench)\//.test(p) || p.endsWith('.ts'))).toEqual([]);
    const root = join(prefix, 'lib', 'node_modules', 'sidekiq-migrate');
    expect(existsSync(join(root, 'node_modules'))).toBe(false);
    expect(readdirSync(join(prefix, 'lib', 'node_modules'))).toEqual(['sidekiq-migrate']);
  });

  it('starts without the AWS SDK or the Step Functions emulator, and holds no CDK or TypeScript runner at all', () => {
    // esbuild marks each bundled module with a `// …/node_modules/PACKAGE/…` comment.
    const bundled = (file: string) => new Set([...readFileSync(file, 'utf8').matchAll(/node_modules\/((?:@[\w.-]+\/)?[\w.-]+)\//g)].map((m) => m[1]!));
    const dist = repoPath('dist');
    const entry = bundled(join(dist, 'sidekiq-migrate.js'));
    const chunks = readdirSync(join(dist, 'chunks')).filter((f) => f.endsWith('.js')).flatMap((f) => [...bundled(join(dist, 'chunks', f))]);

    expect(entry).toContain('ioredis');
    expect([...entry].filter((p) => p.startsWith('@aws-sdk/') || p.startsWith('@smithy/') || p === 'aws-local-stepfunctions')).toEqual([]);
    expect(chunks).toContain('aws-local-stepfunctions');
    expect(chunks).toContain('@aws-sdk/client-sfn');
    expect([...entry, ...chunks].filter((p) => /^(aws-cdk-lib|constructs|cdk-nag|tsx|esbuild|typescript|asl-validator)$/.test(p))).toEqual([]);
  });

  it("carries zod's English messages only, the one locale the CLI uses (the other ~50 were parsed at every start)", () => {
    const dist = repoPath('dist');
    const files = [join(dist, 'sidekiq-migrate.js'), ...readdirSync(join(dist, 'chunks')).filter((f) => f.endsWith('.js')).map((f) => join(dist, 'chunks', f))];
    const locales = files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/node_modules\/zod\/v4\/locales\/([\w-]+)\.js/g)].map((m) => m[1]!));

    expect(locales).toEqual(['en']);
    const bad = join(work, 'bad.json');
    writeFileSync(bad, JSON.stringify({ unmapped: 7 }));
    expect(installed('run', '--config', bad, '--redis', redis.urls().source, '--rename', 'a=b').stderr).toContain('bad.json: unmapped: leave or quarantine');
  });

  it('shows its help', () => {
    const result = installed('--help');

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: sidekiq-migrate');
    expect(result.stdout).toContain('run [options]');
  });

  it('re-routes with its Lua steps and the local state machine, every job exactly once', async () => {
    const queued = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' });
    const scheduled = sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' });
    await redis.source().lpush('queue:old', queued);
    await redis.source().zadd('schedule', '2000000000', scheduled);

    const result = installed('run', '--redis', redis.urls().source, '--rename', 'old=new', '--json');

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ mode: 'reroute', complete: true, totals: { moved: 2 } });
    const jobs = (await allJobs(redis.source(), '')).filter((j) => j.key !== 'queues');
    expect(jobs).toEqual([
      { key: 'queue:new', payload: queued.replace('"queue":"old"', '"queue":"new"') },
      { key: 'schedule', payload: scheduled.replace('"queue":"old"', '"queue":"new"'), score: '2000000000' },
    ]);
  });

  it('transfers to another Redis', async () => {
    const queued = sidekiqPayload({ className: 'A', queue: 'default', args: '[1]' });
    await redis.source().lpush('queue:default', queued);

    const result = installed('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ mode: 'transfer', complete: true, totals: { written: 1 } });
    expect((await allJobs(redis.source(), '')).filter((j) => j.key.startsWith('queue:'))).toEqual([]);
    expect((await allJobs(redis.target(), '')).filter((j) => j.key !== 'queues')).toEqual([{ key: 'queue:default', payload: queued }]);
  });

  it('runs the demo with the catalog and rules it ships (the README quick start)', () => {
    const result = installed('demo');

    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    // The plan and the run both say what stays (the mail and the removed worker's job, two unparsable).
    expect(result.stdout).toContain('Dry run, nothing written: a run would move 720 job(s) and leave jobs behind: 4 left in place, 2 of them where nobody fetches and 1 in sets naming no queue it can read (see "Needs a look" above).');
    expect(result.stdout).toContain('Done, but jobs were left behind: 4 left in place, 2 of them where nobody fetches and 1 in sets naming no queue it can read (see "Needs a look" above).');
    expect(result.stdout).not.toContain('Complete');
    expect(result.stdout).toContain('724 jobs after, 724 before: none lost, none duplicated.');
  });
});
