import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { bufferIo } from '../support/buffer-io.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { refusingEndpoint } from '../support/refusing-endpoint.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { floatSeconds, sidekiqPayload } from '../support/sidekiq-jobs.js';

const server = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'drain-cli-'));
const keys = new SidekiqKeys('');
const now = () => Date.now() / 1000;

const cli = async (...args: string[]) => {
  const io = bufferIo();
  // A --redis of the test's own replaces this one (given twice, --redis is refused).
  const code = await main(['node', 'sidekiq-migrate', 'drain-check', ...(args.includes('--redis') ? [] : ['--redis', server.url()]), ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

describe('sidekiq-migrate drain-check', () => {
  it('says drained and exits 0 on an empty Redis, and that nothing of Sidekiq is there (a wrong port reads the same)', async () => {
    const { code, stdout } = await cli();

    expect(code).toBe(0);
    expect(stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left: no Sidekiq data at all there \(no queue, set, process or statistic of Sidekiq's, under any prefix or in another database\): check that this is the Redis you meant \(host, port, \/db\)$/m);
  });

  it('drained with dead and interrupted entries: its line does not say "0 job(s) left" alone, it counts them', async () => {
    const redis = server.client();
    await redis.zadd('dead', '1795459303.5', sidekiqPayload({ className: 'A', queue: 'default' }));
    await redis.zadd('interrupted', '1795459304.5', sidekiqPayload({ className: 'B', queue: 'default' }), '1795459305.5', sidekiqPayload({ className: 'C', queue: 'default' }));

    const { code, stdout } = await cli();

    expect(code).toBe(0);
    expect(stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left to run; 3 dead or interrupted entries that never run by themselves \(below\)\n {2}- 1 dead job\(s\) remain/);
    expect(await redis.zcard('dead')).toBe(1);
    expect(await redis.zcard('interrupted')).toBe(2);
  });

  it('exits 3 when jobs wait on a queue nobody listens to, naming it', async () => {
    const redis = server.client();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['new'], { beatAt: now() });
    await redis.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', extra: `"enqueued_at":${floatSeconds(now() - 90)}` }));

    const { code, stdout } = await cli();

    expect(code).toBe(3);
    expect(stdout).toMatch(/STUCK — 1 job\(s\) left/);
    expect(stdout).toContain('queues nobody listens to: old');
    expect(stdout).toMatch(/^old +1 +\d+ s +NONE$/m);
    expect(stdout).toContain('Sidekiq processes: 1 live, 0 quiet, 0 gone or stale');
  });

  it('names queues with control characters or bytes that are not UTF-8 escaped in its reasons, as in its table: a name cannot break a line or send the terminal an escape sequence', async () => {
    const redis = server.client();
    await redis.lpush('queue:new\nline', sidekiqPayload({ className: 'A', queue: 'new\nline' }));
    await redis.lpush('queue:red\u001b[31mtext', sidekiqPayload({ className: 'A', queue: 'x' }));
    await redis.lpush(Buffer.from('queue:caf\xe9', 'latin1'), sidekiqPayload({ className: 'A', queue: 'x' }));

    const { code, stdout } = await cli();

    expect(code).toBe(3);
    expect(stdout).toMatch(/^ {2}- 3 job\(s\) will never run as things stand \(queues nobody listens to: (caf\\xe9|new\\x0aline|red\\x1b\[31mtext)(, (caf\\xe9|new\\x0aline|red\\x1b\[31mtext)){2}\)$/m);
    expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('with thousands of queues the report stays readable: 10 orphan queues named in the reason, the 40 that matter in the table, the rest counted; --json has every one', async () => {
    const redis = server.client();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['listened'], { beatAt: now() });
    const pipeline = redis.pipeline();
    for (let i = 0; i < 2_000; i++) pipeline.lpush(`queue:q${String(i).padStart(4, '0')}`, sidekiqPayload({ className: 'A', queue: `q${i}` }));
    for (let i = 0; i < 5; i++) pipeline.lpush('queue:zdeep', sidekiqPayload({ className: 'A', queue: 'zdeep' }));
    for (let i = 0; i < 3; i++) pipeline.lpush('queue:listened', sidekiqPayload({ className: 'A', queue: 'listened' }));
    await pipeline.exec();

    const { code, stdout } = await cli();

    expect(code).toBe(3);
    expect(stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: STUCK — 2008 job\(s\) left$/m);
    expect(stdout).toContain('  - 2005 job(s) will never run as things stand (queues nobody listens to: q0000, q0001, q0002, q0003, q0004, q0005, q0006, q0007, q0008, q0009, … and 1,991 more)');
    const table = stdout.slice(stdout.indexOf('Queue '), stdout.indexOf('\n\nschedule'));
    const rows = table.split('\n').slice(1);
    // The deepest queue nobody listens to first, then the others by name; the listened queue is not among the 40.
    expect(rows[0]).toMatch(/^zdeep +5 +\S+ +NONE$/);
    expect(rows.slice(1, 40).map((r) => r.split(' ')[0])).toEqual(Array.from({ length: 39 }, (_, i) => `q${String(i).padStart(4, '0')}`));
    expect(rows[40]).toBe('… and 1,962 more queues holding 1,964 job(s) (--json lists every one)');
    expect(rows).toHaveLength(41);
    expect(Math.max(...stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(220);

    const json = JSON.parse((await cli('--json')).stdout) as { queues: unknown[]; orphans: { queues: string[] } };
    expect(json.queues).toHaveLength(2_002);
    expect(json.orphans.queues).toHaveLength(2_001);
  });

  it("keeps its queue table in 80 columns with GitLab's longest queue names (cut in the middle; the reasons and --json name them in full)", async () => {
    const redis = server.client();
    const long = 'authorized_project_update:authorized_project_update_enqueue_group_members_refresh_authorized_projects';
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: now() });
    await redis.lpush(`queue:${long}`, sidekiqPayload({ className: 'A', queue: long, extra: `"enqueued_at":${floatSeconds(now() - 90)}` }));
    await redis.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default', extra: `"enqueued_at":${floatSeconds(now() - 90)}` }));

    const { code, stdout } = await cli();

    expect(code).toBe(3);
    const table = stdout.slice(stdout.indexOf('\nQueue ') + 1).split('\n\n')[0]!.split('\n');
    expect(table).toHaveLength(3);
    for (const line of table) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(table[1]).toMatch(/^authorized_project_updat…resh_authorized_projects +1 +\d+ s +NONE$/);
    expect(table[2]).toMatch(/^default +1 +\d+ s +1$/);
    expect(stdout).toContain(`queues nobody listens to: ${long})`);
  });

  it('says its counts of private lists are a floor when it read as many as it reads (1,000)', async () => {
    const redis = server.client();
    const pipeline = redis.pipeline();
    for (let i = 0; i < 1_200; i++) pipeline.rpush(`working:queue:q${i}:web-1:11:aa`, sidekiqPayload({ className: 'A', queue: `q${i}` }));
    await pipeline.exec();

    const { code, stdout } = await cli();

    expect(code).toBe(3);
    // As many as it found by then (SCAN pages until 1,000): the number it counted, not the limit.
    expect(stdout).toMatch(/\n {2}\(the first 1,[0-9]{3} lists found were read; there may be more, and more jobs in them than counted here\)\n/);
  });

  it('jobs under another prefix where no Sidekiq runs: exit 3 for what would run there, not for its dead entries (which block nothing here either)', async () => {
    const redis = server.client();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: now() });
    await redis.zadd('resque:gitlab:dead', '1795459303.5', sidekiqPayload({ className: 'A', queue: 'default' }), '1795459304.5', sidekiqPayload({ className: 'B', queue: 'default' }));

    const dead = await cli();

    expect(dead.code).toBe(0);
    expect(dead.stdout).toMatch(/DRAINED — 0 job\(s\) left under no prefix, and 2 under other prefixes \(below\)/);
    expect(dead.stdout).not.toContain('will never run');

    await redis.lpush('resque:gitlab:queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
    const queued = await cli();

    expect(queued.code).toBe(3);
    expect(queued.stdout).toContain('("resque:gitlab:": 3); 1 under "resque:gitlab:", where no Sidekiq process runs, will never run as things stand (exit code 3)');
  });

  it("counts a reliable fetcher's working list under another prefix: only a Sidekiq there would put its job back", async () => {
    const redis = server.client();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default', 'post_receive'], { beatAt: now() });
    // GitLab's namespace move: a worker killed under resque:gitlab: left the job it held there, and
    // the reliable fetchers now running (unprefixed) never look under that prefix.
    await redis.lpush('resque:gitlab:working:queue:post_receive:gitlab-sidekiq-0:4242:0a1b2c3d4e5f', sidekiqPayload({ className: 'PostReceive', queue: 'post_receive' }));
    // What Sidekiq itself leaves there, and never removes.
    await redis.sadd('resque:gitlab:queues', 'post_receive');
    await redis.set('resque:gitlab:stat:processed', '81234');

    const { code, stdout } = await cli();

    expect(code).toBe(3);
    expect(stdout).toMatch(/DRAINED — 0 job\(s\) left under no prefix, and 1 under other prefixes \(below\)/);
    expect(stdout).toContain('1 under "resque:gitlab:", where no Sidekiq process runs, will never run as things stand (exit code 3)');
    // A move would not carry it: the check under that prefix says what puts it back.
    expect(stdout).toContain('("resque:gitlab:": 1 (1 in reliable-fetch working lists, which no move carries: check them with --namespace))');
  });

  it("never reads keys an ACL user may not read as nothing: a user limited to gitlab:* is told that other prefixes hold keys it cannot check", async () => {
    const redis = server.client();
    await redis.acl('SETUSER', 'gitlab-only', 'on', '>pw', '~gitlab:*', '&*', '+@all');
    const gitlab = new SidekiqKeys('gitlab:');
    await heartbeat(redis, gitlab, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: now() });
    // Left by GitLab's namespace move, under no prefix: this user may not read them.
    await redis.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
    await redis.sadd('queues', 'default');
    const url = new URL(server.url());
    url.username = 'gitlab-only';
    url.password = 'pw';
    try {
      const scoped = await cli('--redis', url.toString(), '--namespace', 'gitlab:');
      const admin = await cli('--namespace', 'gitlab:');
      const run = await runCli('run', '--redis', url.toString(), '--namespace', 'gitlab:', '--rename', 'old=new', '--dry-run');

      // Its own prefix is drained, and the line says the check could not see everything.
      expect(scoped.code).toBe(0);
      expect(scoped.stdout).toMatch(/^redis:\/\/gitlab-only:\*\*\*@127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left under the prefix "gitlab:"; other prefixes hold 2 key\(s\) this user may not read \(below\)$/m);
      expect(scoped.stdout).toContain('(no prefix: 0 counted, 2 key(s) this user may not read)');
      expect(scoped.stdout).toContain('Also on this Redis, not counted above: 2 Sidekiq key(s) under no prefix that this user may not read (its ACL covers other keys): what they hold is not known here (check them with --namespace, as a user that may read them).');
      // A user that may read them sees the job nobody runs.
      expect(admin.code).toBe(3);
      expect(admin.stdout).toMatch(/DRAINED — 0 job\(s\) left under the prefix "gitlab:", and 1 under other prefixes \(below\)/);
      // A run as that user says the same before its summary.
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('Note: this Redis also holds 2 Sidekiq key(s) this user may not read (its ACL hides them), whatever they hold, under no prefix, which this run does not touch.');
      expect(await redis.llen('queue:default')).toBe(1);
    } finally {
      await redis.acl('DELUSER', 'gitlab-only');
    }
  });

  it('a run as a user that sees nothing under its prefix never says the Redis holds no Sidekiq data when its ACL hides some', async () => {
    const redis = server.client();
    await redis.acl('SETUSER', 'app-only', 'on', '>pw', '~app:*', '&*', '+@all');
    await redis.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
    const url = new URL(server.url());
    url.username = 'app-only';
    url.password = 'pw';
    try {
      const run = await runCli('run', '--redis', url.toString(), '--namespace', 'app:', '--rename', 'old=new');

      expect(run.code).toBe(0);
      expect(run.stdout).not.toContain('no Sidekiq data');
      // Under app:, the queue old is not there at all: the rename moved nothing, and says so.
      expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but --rename old=new moved nothing: no such queue on this Redis, and no schedule, retry or dead entry names it (see "Needs a look" above).');
      expect(run.stderr).toContain('Note: this Redis also holds 1 Sidekiq key(s) this user may not read (its ACL hides them), whatever they hold, under no prefix, which this run does not touch.');
      expect(await redis.llen('queue:default')).toBe(1);
    } finally {
      await redis.acl('DELUSER', 'app-only');
    }
  });

  it('scoped to retired queues: their drained verdict, and the exit code 3 of jobs elsewhere explained', async () => {
    const redis = server.client();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['new'], { beatAt: now() });
    await redis.lpush('queue:unlistened', sidekiqPayload({ className: 'A', queue: 'unlistened' }));

    const { code, stdout } = await cli('--retired-queues', 'old');

    expect(code).toBe(3);
    expect(stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left of the 1 retired queue\(s\) only \(jobs of other queues are not counted\)\n {2}- 1 job\(s\) outside the retired queues will never run as things stand \(queues nobody listens to: unlistened\): give their queues a listener\n/);
  });

  it('scoped to retired queues, not drained: its count of jobs nobody runs says it is the whole Redis\'s, and entries already due are not said to come due later', async () => {
    const redis = server.client();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['new'], { beatAt: now() });
    await redis.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }), sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' }));
    for (let i = 0; i < 3; i++) await redis.lpush('queue:unlistened', sidekiqPayload({ className: 'A', queue: 'unlistened', args: `[${i}]` }));
    await redis.zadd('schedule', String(now() - 100), sidekiqPayload({ className: 'A', queue: 'old', args: '[9]' }));

    const { code, stdout } = await cli('--retired-queues', 'old');

    expect(code).toBe(3);
    expect(stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: STUCK — 3 job\(s\) left of the 1 retired queue\(s\) only \(jobs of other queues are not counted\)\n/);
    expect(stdout).toContain('\n  - Of the whole Redis, not only the retired queues, 6 job(s) will never run as things stand (queues nobody listens to: old, unlistened; schedule or retry entries naming a queue nobody listens to: schedule 1)\n');
    expect(stdout).toContain('\n  - 1 scheduled or retrying job(s) name retired queues, all due now: a live Sidekiq process\'s poller pushes them to those queues; the migration rewrites them (run it again)\n');
    expect(stdout).not.toContain('come due later');
  });

  it('sees a Sidekiq 8 process that names its queues only in capsules as a listener (9.0 drops info.queues)', async () => {
    const redis = server.client();
    const info = readFileSync(repoPath('test/fixtures/sidekiq-heartbeats/capsules-only-info.json'), 'utf8').trim();
    await heartbeat(redis, keys, 'vm:12992:2c2a7bf43670', [], { beatAt: now(), info });
    await redis.lpush('queue:low', sidekiqPayload({ className: 'A', queue: 'low', extra: `"enqueued_at":${floatSeconds(now() - 5)}` }));

    const { code, stdout } = await cli();

    expect(code).toBe(0);
    expect(stdout).not.toContain('STUCK');
    expect(stdout).toMatch(/^low +1 +\d+ s +1$/m);
    expect(stdout).toContain('Sidekiq processes: 1 live, 0 quiet, 0 gone or stale');

    await redis.del('queue:low');
    const after = await cli();
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/DRAINED — 0 job\(s\) left$/m);
  });

  it('names sidekiq-cron definitions and stops a pipeline while one still pushes to a retired queue', async () => {
    const redis = server.client();
    const cron = JSON.parse(readFileSync(repoPath('test/fixtures/sidekiq-cron/definitions.json'), 'utf8'))['1.x'];
    await redis.sadd(cron.index, cron.key);
    await redis.hset(cron.key, cron.fields);
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['cronjob'], { beatAt: now() });

    const plain = await cli();

    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/DRAINED — 0 job\(s\) left$/m);
    expect(plain.stdout).toContain('sidekiq-cron definitions: 1 ');
    expect(plain.stdout).toContain('  stuck_ci_jobs_worker → cronjob:stuck_ci_jobs (nobody listens)');

    const scoped = await cli('--retired-queues', 'cronjob:stuck_ci_jobs');

    expect(scoped.code).toBe(3);
    expect(scoped.stdout).toMatch(/STUCK — 0 job\(s\) left/);
    expect(scoped.stdout).toContain('1 sidekiq-cron definition(s) still push to retired queues (stuck_ci_jobs_worker → cronjob:stuck_ci_jobs)');
  });

  it('chains checks with --save and --previous: rate and estimate', async () => {
    const redis = server.client();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: now() });
    for (let i = 0; i < 20; i++) await redis.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
    const saved = join(dir, 'check.json');
    await cli('--save', saved);
    // Pretend the first check was 10 s ago, and 10 jobs ran since.
    const first = JSON.parse(readFileSync(saved, 'utf8'));
    writeFileSync(saved, JSON.stringify({ ...first, checkedAt: first.checkedAt - 10 }));
    await redis.ltrim('queue:default', 0, 9);

    const { code, stdout } = await cli('--previous', saved, '--json');

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.verdict.state).toBe('draining');
    expect(report.verdict.ratePerSecond).toBeCloseTo(1, 0);
    expect(report.verdict.etaSeconds).toBeGreaterThan(5);
  });

  it('exits 2 on a --previous report of another Redis, prefix or scope, whose counts would make up a rate', async () => {
    const redis = server.client();
    for (let i = 0; i < 3; i++) await redis.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
    const saved = join(dir, 'other.json');
    await cli('--save', saved);
    const first = JSON.parse(readFileSync(saved, 'utf8'));
    const url = server.url();
    const refusal = (why: string) => `--previous ${saved}: not a check of what this one checks (${why}): its counts cannot give a rate. Give the report of the previous check of the same Redis, prefix and scope, or leave --previous out.\n`;

    writeFileSync(saved, JSON.stringify({ ...first, redis: 'redis://elsewhere:6379' }));
    expect(await cli('--previous', saved)).toEqual({ code: 2, stdout: '', stderr: refusal(`it checked redis://elsewhere:6379, this check ${url}`) });
    writeFileSync(saved, JSON.stringify({ ...first, prefix: 'resque:gitlab:' }));
    expect(await cli('--previous', saved)).toEqual({ code: 2, stdout: '', stderr: refusal('its prefix is "resque:gitlab:", this one ""') });
    writeFileSync(saved, JSON.stringify(first));
    expect(await cli('--previous', saved, '--retired-queues', 'default')).toEqual({ code: 2, stdout: '', stderr: refusal('it covered the whole Redis, this check retired queues default') });
    // The same Redis, prefix and scope: compared with.
    expect((await cli('--previous', saved)).code).toBe(3);
  });

  it('exits 2 on --retired-queues naming no queue (an empty retired-queues.txt), never checking the whole Redis instead', async () => {
    const redis = server.client();
    await heartbeat(redis, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: now() });
    await redis.lpush('queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));

    for (const [empty, words] of [['', /^--retired-queues: names no queue/], [',', /^--retired-queues: entries 1 and 2 of "," are empty: give queue names/]] as const) {
      const { code, stdout, stderr } = await cli('--retired-queues', empty);

      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(words);
    }
  });

  it('exits 2 on a --previous file that is not a drain report', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"hello": 1}');

    const { code, stdout, stderr } = await cli('--previous', bad);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('not a drain report');
  });
  it('exits 2 on a --save file it cannot write, saying which and why, before it connects (the check once ran, then died "Unexpected error: ENOENT" with its report lost)', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const missing = join(dir, 'no-such-dir', 'check-1.json');
      const save = async (path: string) => {
        const io = bufferIo();
        const code = await main(['node', 'sidekiq-migrate', 'drain-check', '--redis', endpoint.url, '--save', path], io);
        return { code, stdout: io.stdout(), stderr: io.stderr() };
      };

      expect(await save(missing)).toEqual({ code: 2, stdout: '', stderr: `Cannot write the drain report to ${missing}: its directory ${join(dir, 'no-such-dir')} does not exist\n` });
      expect(await save(dir)).toEqual({ code: 2, stdout: '', stderr: `Cannot write the drain report to ${dir}: it is a directory\n` });
      expect(endpoint.attempts()).toBe(0);
    } finally {
      await endpoint.close();
    }
  });
});
