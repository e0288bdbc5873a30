import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { bufferIo } from '../support/buffer-io.js';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// Issue #17: a selective move's summary says, by class, what it examined and took (bounded, 80
// columns, --verbose for all), and its progress never counts every job of the source as to move.

const redis = privateSourceAndTarget();

const cli = async (interactive: boolean, ...args: string[]) => {
  const io = bufferIo(interactive);
  const code = await main(['node', 'sidekiq-migrate', ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

const classNames = (count: number) => Array.from({ length: count }, (_, i) => `Shard::Moving${String(i + 1).padStart(2, '0')}Worker`);
const STAYING = 'Shard::StayingWorker';

/** Class i (1-based) has i + 1 jobs on `default`, one in `retry`; the staying class 20 jobs between them. */
async function seed(classes: readonly string[]): Promise<{ moving: string[]; staying: string[] }> {
  const made = { moving: [] as string[], staying: [] as string[] };
  const source = redis.source();
  for (const [i, cls] of classes.entries()) {
    for (let j = 0; j <= i + 1; j++) {
      const payload = sidekiqPayload({ className: cls, args: `[${i},${j}]` });
      await source.rpush('queue:default', payload);
      made.moving.push(jobEntry('queue:default', payload));
    }
    const retried = sidekiqPayload({ className: cls, args: `["retry",${i}]`, extra: '"retry_count":1' });
    await source.zadd('retry', 1795459303 + i, retried);
    made.moving.push(jobEntry('retry', retried, String(1795459303 + i)));
  }
  for (let j = 0; j < 20; j++) {
    const payload = sidekiqPayload({ className: STAYING, args: `[${j}]` });
    await source.rpush('queue:default', payload);
    made.staying.push(jobEntry('queue:default', payload));
  }
  await source.sadd('queues', 'default');
  return made;
}

const move = (interactive: boolean, classes: readonly string[], ...more: string[]) =>
  cli(interactive, 'move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', classes.join(','), '--sets', 'retry', '--page-size', '7', ...more);

describe('the summary of a selective move', () => {
  it('names each class with what it took from where, most first, after what was examined', async () => {
    const classes = classNames(2);
    const jobs = await seed(classes);

    const { code, stdout } = await move(false, classes);

    expect(code).toBe(0);
    await expectExactJobs(redis.source(), '', jobs.staying, 'the staying class stays');
    await expectExactJobs(redis.target(), '', jobs.moving, 'the selected classes moved');
    // 2 + 3 + 20 queued, 2 in retry: 27 examined; 3 + 4 taken.
    expect(stdout).toContain(
      [
        'Selected classes: examined 27 job(s), took 7 of 2 class(es) with jobs:',
        '  Shard::Moving02Worker 4  queue:default 3 · retry 1',
        '  Shard::Moving01Worker 3  queue:default 2 · retry 1',
        '',
      ].join('\n'),
    );
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
  });

  it('lists at most 6 classes in 80 columns (… and N more (--verbose)); --verbose lists every one; a dry run says "would take"', async () => {
    const classes = classNames(12);
    await seed(classes);

    const dry = await move(false, classes, '--dry-run');
    const real = await move(false, classes, '--verbose');

    expect([dry.code, real.code]).toEqual([0, 0]);
    const section = (stdout: string) => stdout.slice(stdout.indexOf('Selected classes: examined')).split('\n\n')[0]!.split('\n');
    // 12 classes of 2..13 queued jobs (90) and 20 staying: 110 queued and 12 retried examined.
    expect(section(dry.stdout)).toEqual([
      'Selected classes: examined 122 job(s), would take 102 of 12 class(es) with jobs:',
      '  Shard::Moving12Worker 14  queue:default 13 · retry 1',
      '  Shard::Moving11Worker 13  queue:default 12 · retry 1',
      '  Shard::Moving10Worker 12  queue:default 11 · retry 1',
      '  Shard::Moving09Worker 11  queue:default 10 · retry 1',
      '  Shard::Moving08Worker 10  queue:default 9 · retry 1',
      '  Shard::Moving07Worker  9  queue:default 8 · retry 1',
      '  … and 6 more class(es) (--verbose)',
    ]);
    expect(section(real.stdout)).toHaveLength(13);
    expect(section(real.stdout).at(-1)).toBe('  Shard::Moving01Worker  3  queue:default 2 · retry 1');
    for (const line of [...dry.stdout.split('\n'), ...real.stdout.split('\n')]) if (line.startsWith('  Shard::')) expect(line.length).toBeLessThanOrEqual(80);
  });
});

describe('the progress of a selective move', () => {
  it('on a terminal: examining the planned jobs, and moved of the selected jobs the plan counted (never "Jobs N of" every job)', async () => {
    const classes = classNames(3);
    await seed(classes);

    const { code, stderr } = await move(true, classes);

    expect(code).toBe(0);
    // 2 + 3 + 4 + 20 queued and 3 in retry: 32 planned; 3 + 4 + 5 selected.
    expect(stderr).toMatch(/Examining 32\/32 · 12\/12 selected moved · /);
    expect(stderr).toMatch(/Examining \d+\/32 · \d+\/12 selected moved/);
    expect(stderr).not.toMatch(/Jobs \d+ (of|seen)/);
  });
});
