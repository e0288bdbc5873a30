import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// `--json`'s `complete` is true when every set and queue finished, also when the run left jobs
// behind: a run that left an unmapped job printed `"complete":true` where its human view ends
// `Done, but jobs were left behind: 1 left in place`, and a pipeline reading the JSON had no word
// of it but by adding up counters. The object now carries the verdict the human view ends with,
// as drain-check's JSON carries its own: `verdict: {state, line}`, state one of complete,
// done-but, not-complete, dry-run.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-json-verdict-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'new' }));

async function seed(withUnmapped: boolean): Promise<void> {
  await redis.source().flushall();
  await redis.source().lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }), sidekiqPayload({ className: 'A', queue: 'old', args: '[2]' }));
  if (withUnmapped) await redis.source().lpush('queue:old', sidekiqPayload({ className: 'Unknown', queue: 'old', args: '[3]' }));
  await redis.source().sadd('queues', 'old');
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);

describe('--json carries the verdict the human view ends with', { timeout: 120_000 }, () => {
  it('run: jobs left behind are done-but, not only complete: true; the line is the human last line', async () => {
    await seed(true);
    const human = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping);
    await seed(true);
    const json = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--json');

    expect(human.code).toBe(0);
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout);
    expect(summary.complete).toBe(true);
    expect(summary.verdict).toEqual({ state: 'done-but', line: 'Done, but jobs were left behind: 1 left in place, 1 of them where nobody fetches (see "Needs a look" above).' });
    expect(lastLine(human.stdout)).toBe(summary.verdict.line);
  });

  it('run: everything moved is complete; a dry run is dry-run, never complete', async () => {
    await seed(false);
    const dry = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--json', '--dry-run');
    const ran = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--json');

    expect(JSON.parse(dry.stdout).verdict).toEqual({ state: 'dry-run', line: 'Dry run, nothing written: a run would move 2 job(s) and leave none behind.' });
    expect(JSON.parse(ran.stdout).verdict).toEqual({ state: 'complete', line: 'Complete: everything that could be moved was moved.' });
  });

  it('move: the same member, in the same words as its human view', async () => {
    await seed(true);
    const { source, target } = redis.urls();
    const human = await runCli('move', '--from', source, '--to', target, '--mapping', mapping, '--dry-run');
    const json = await runCli('move', '--from', source, '--to', target, '--mapping', mapping, '--dry-run', '--json');

    expect(JSON.parse(json.stdout).verdict.state).toBe('dry-run');
    expect(JSON.parse(json.stdout).verdict.line).toBe(lastLine(human.stdout));
  });

  it('a transfer dry run toward a Redis that may evict any key: a run would be refused, said first, never only what it would move', async () => {
    await seed(false);
    const { source, target } = redis.urls();
    await redis.target().config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const human = await runCli('move', '--from', source, '--to', target, '--mapping', mapping, '--dry-run');
      const json = await runCli('move', '--from', source, '--to', target, '--mapping', mapping, '--dry-run', '--json');
      const real = await runCli('move', '--from', source, '--to', target, '--mapping', mapping);

      const line =
        "Dry run, nothing written: a run would be refused, touching nothing: the target's maxmemory-policy is allkeys-lru, which may evict any key (set noeviction, or a volatile-* policy, first). Once it is set: a run would move 2 job(s) and leave none behind.";
      expect(human.code).toBe(0);
      expect(lastLine(human.stdout)).toBe(line);
      expect(JSON.parse(json.stdout).verdict).toEqual({ state: 'dry-run', line });
      expect(real.code).toBe(2);
      expect(real.stderr).toMatch(/^target redis:\/\/127\.0\.0\.1:\d+ has maxmemory-policy allkeys-lru/);
    } finally {
      await redis.target().config('SET', 'maxmemory-policy', 'noeviction');
    }
  });
});

