import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { main } from '../../cli/main.js';
import { realTime } from '../../cli/cli-context.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';
import { refusingEndpoint } from '../support/refusing-endpoint.js';

// `drain-check` run from the CLI is bounded as the deployed check is, by its function's 120 s
// (cli-drain-check-time-bound.test.ts). On a Redis too large to look at in that time it said
// "not all looked at … not a verdict of drained" (exit 1), and nothing let the operator give it
// more: a large Redis could never be checked in full. `--time-limit SECONDS` now gives a local
// check more time (validated with the other options: bad values exit 2 touching nothing), and
// the cut-short words name it. The check's start is the CLI's clock: set 130 s back, the default
// 120 s are spent before the first SCAN page, and 600 s are not.
const server = privateRedis();

async function cli(args: string[], time = realTime) {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', 'drain-check', ...args], io, localTaskHandlers, time);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

/** A configuration file in a new directory. */
function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'time-limit-config-')), 'team.yml');
  writeFileSync(path, text);
  return path;
}

const startedLongAgo = { ...realTime, now: () => new Date(Date.now() - 130_000) };

describe('sidekiq-migrate drain-check --time-limit', { timeout: 60_000 }, () => {
  it('cut short by the default time, says to give it more with --time-limit; with more, looks at everything and says DRAINED', async () => {
    const p = server.client().pipeline();
    for (let i = 0; i < 5_000; i++) p.set(`uniquejobs:digest:${i}`, '1');
    p.sadd('queues', 'default');
    await p.exec();

    const cut = await cli(['--redis', server.url()], startedLongAgo);
    const longer = await cli(['--redis', server.url(), '--time-limit', '600'], startedLongAgo);

    expect(cut.code).toBe(1);
    expect(cut.stdout).not.toMatch(/DRAINED/);
    expect(cut.stdout).toMatch(/not all looked at: the check's time ran out after about [\d,]+ of the Redis's 5,001 keys; jobs there are not confirmed absent/);
    expect(cut.stdout).toContain("To look at all of it, give the check more time: --time-limit SECONDS (this check had 120 s, the deployed check's bound).");
    expect(longer.code).toBe(0);
    expect(longer.stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left$/m);
  });

  it('set entries left unread when the time ran out: said as the time, not as "more than a check counts", naming --time-limit; with more, counted exactly', async () => {
    const p = server.client().pipeline();
    for (let i = 0; i < 3_000; i++) p.zadd('schedule', String(1795459303 + i), JSON.stringify({ class: 'A', queue: 'default', args: [i], jid: `j${i}` }));
    await p.exec();

    const cut = await cli(['--redis', server.url()], startedLongAgo);
    const longer = await cli(['--redis', server.url(), '--time-limit', '600'], startedLongAgo);

    expect(cut.stdout).toMatch(/schedule holds 3000 entries, more than the check could read in its time \(it read \d+\): what they hold is estimated, so this is not a verdict of drained\. To look at all of it, give the check more time: --time-limit SECONDS \(this check had 120 s, the deployed check's bound\)\./);
    expect(cut.stdout).not.toContain('more than a check counts');
    expect(cut.code).toBe(3);
    expect(longer.stdout).not.toContain('estimated');
    expect(longer.code).toBe(3);
  });

  it('dead entries left unread when the time ran out: never DRAINED, as the docs say of any set estimated (it said DRAINED with exit 1, its table "more entries than a check counts" of 3,000)', async () => {
    const p = server.client().pipeline();
    for (let i = 0; i < 3_000; i++) p.zadd('dead', String(1795459303 + i), JSON.stringify({ class: 'A', queue: 'default', args: [i], jid: `j${i}` }));
    await p.exec();

    const cut = await cli(['--redis', server.url()], startedLongAgo);
    const longer = await cli(['--redis', server.url(), '--time-limit', '600'], startedLongAgo);

    expect(cut.stdout).not.toMatch(/DRAINED/);
    expect(cut.stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINING — 0 job\(s\) left$/m);
    expect(cut.stdout).toMatch(/dead holds 3000 entries, more than the check could read in its time \(it read \d+\): what they hold is estimated, so this is not a verdict of drained\. To look at all of it, give the check more time: --time-limit SECONDS/);
    expect(cut.stdout).not.toContain('more entries than a check counts');
    expect(cut.stdout).toMatch(/^dead +3000 total, .*\(estimated: the check's time ran out after \d+ entries\)$/m);
    expect(cut.code).toBe(1);
    expect(longer.stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left to run; 3000 dead or interrupted entries that never run by themselves \(below\)$/m);
    expect(longer.stdout).not.toContain('estimated');
    expect(longer.code).toBe(0);
  });

  it('bad values exit 2 with the option named and what to give, before connecting to anything', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const cases: [string[], string][] = [
        [['--time-limit', 'abc'], '--time-limit: the seconds the check may take must be a whole number in decimal digits, not "abc"'],
        [['--time-limit', '0'], '--time-limit: the seconds the check may take must be positive'],
        [['--time-limit', '1.5'], '--time-limit: the seconds the check may take must be a whole number'],
        [['--time-limit', '100000'], '--time-limit: at most 86400 seconds (a day); give whole seconds, e.g. 600'],
      ];
      for (const [args, words] of cases) {
        const result = await cli(['--redis', endpoint.url, ...args]);
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stderr).toContain(words);
        expect(result.stdout).toBe('');
      }
      const deployed = await cli(['--deployed', '--time-limit', '600']);
      expect(deployed.code).toBe(2);
      expect(deployed.stderr).toContain("--time-limit: not with --deployed: the deployed check has its function's timeout; to look longer, run the check here with --redis and --time-limit");
      expect(endpoint.attempts(), 'nothing was connected to').toBe(0);
    } finally {
      await endpoint.close();
    }
  });

  it('timeLimit in the configuration file gives the check its time; the flag overrides it', async () => {
    const p = server.client().pipeline();
    for (let i = 0; i < 5_000; i++) p.set(`uniquejobs:digest:${i}`, '1');
    p.sadd('queues', 'default');
    await p.exec();
    const path = configFile(`redis: ${server.url()}\ntimeLimit: 600\n`);

    const fromFile = await cli(['--config', path], startedLongAgo);
    const flagOverFile = await cli(['--config', path, '--time-limit', '120'], startedLongAgo);

    expect(fromFile.stderr).toBe(`Using configuration file ${path} (--config)\n`);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left$/m);
    expect(flagOverFile.code).toBe(1);
    expect(flagOverFile.stdout).not.toMatch(/DRAINED/);
    expect(flagOverFile.stdout).toContain('(this check had 120 s)');
  });

  it("a bad timeLimit in the file is named with the file and the key, with the file's other problems, exit 2, before connecting", async () => {
    const endpoint = await refusingEndpoint();
    try {
      const cases: [string, string[]][] = [
        ['timeLimit: 0\n', ['timeLimit: the seconds drain-check may take must be positive']],
        ['timeLimit: 100000\npageSize: lots\n', ['pageSize: the page size must be a whole number in decimal digits, not "lots"', 'timeLimit: the seconds drain-check may take is at most 86400 (a day); give whole seconds, e.g. 600']],
        ['timeLimit: 1.5\n', ['timeLimit: the seconds drain-check may take must be a whole number']],
        ['timeLimit: soon\n', ['timeLimit: the seconds drain-check may take must be a whole number in decimal digits, not "soon"']],
        ['time_limit: 600\n', ['time_limit: unknown key (did you mean "timeLimit"?)']],
      ];
      for (const [text, problems] of cases) {
        const path = configFile(`redis: ${endpoint.url}\n${text}`);
        const result = await cli(['--config', path]);
        expect(result.code, text).toBe(2);
        expect(result.stdout).toBe('');
        const said = problems.map((p) => `${path}: ${p}`);
        expect(result.stderr, text).toBe(said.length === 1 ? `${said[0]}\n` : `Invalid options:\n${said.map((s) => `  - ${s}\n`).join('')}`);
      }
      expect(endpoint.attempts(), 'nothing was connected to').toBe(0);
    } finally {
      await endpoint.close();
    }
  });
});
