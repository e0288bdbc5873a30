import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, keysUnder } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { waitUntil } from '../support/wait-until.js';

// A pass bounded by a mark (claimQueueJobs-14.lua, claimSelectedQueueJobs-11.lua) looks for it from
// the head (LPOS): a job byte-identical to the mark that a producer pushes during the pass (one job
// pushed twice) is found first, and the pass's bound moves up to that copy. Pinned here as
// harmless: what lies between the mark and the copy was pushed since the pass began, so the pass
// moves jobs a run of `move` again would move (a class-selective pass only jobs of its classes),
// never loses one, and what stays above is only what arrived, so "added during the run" is true.
// Looking from the tail instead would find an older byte-identical original below the mark first
// and end the pass early, leaving the originals between on the source called "added".
const redis = privateSourceAndTarget();

const MOVING = 'RepositoryArchiveCacheWorker';
const STAYING = 'Namespaces::PruneAggregationSchedulesWorker';
const job = (className: string, i: number) => sidekiqPayload({ className, args: `[${i}]`, jid: String(i).padStart(24, '0') });

// In one step, as a producer would: a job, a copy of the pass's mark as it is now (its record on
// the source: the first line, a newline, the mark's bytes), another job, each pushed at the head.
const PUSH_AROUND_MARK = `
local record = redis.call('GET', KEYS[1])
local newline = record and string.find(record, '\\n', 1, true)
if not newline then return false end
local mark = string.sub(record, newline + 1)
redis.call('LPUSH', KEYS[2], ARGV[1], mark, ARGV[2])
return mark`;

const cases = [
  { name: 'move --append (the mark: the newest original)', flags: ['--append'], below: MOVING },
  { name: 'move, front (the mark: the newest original not claimed yet)', flags: [], below: MOVING },
  { name: 'move --classes --append (a job of another class pushed between stays)', flags: ['--classes', MOVING, '--append'], below: STAYING },
];

describe('a job byte-identical to the pass\'s mark pushed above it during the pass', { timeout: 180_000 }, () => {
  it.each(cases)('$name: the pass moves up to the copy; every original moves, nothing is lost, only what is above the copy is called added', async ({ flags, below }) => {
    const source = redis.source();
    const originals = Array.from({ length: 40 }, (_, i) => job(MOVING, i));
    // An older original byte-identical to the newest one: looked for from the head, it never ends the pass.
    originals[3] = originals[39]!;
    await source.lpush('queue:default', ...originals);
    await source.sadd('queues', 'default');
    const between = job(below, 2000);
    const above = job(MOVING, 2001);

    const move = runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, ...flags, '--page-size', '4', '--rate-limit', '20');
    await waitUntil('the first slice wrote to the target', async () => (await redis.target().llen('queue:default')) > 0);
    const [record] = (await keysUnder(source, 'sidekiq-migrate:')).filter((k) => k.endsWith(':originals:queue:default'));
    const mark = (await source.eval(PUSH_AROUND_MARK, 2, record!, 'queue:default', between, above)) as string | null;
    const { code, stdout } = await move;

    expect(mark, 'the pass kept a mark, and a copy of it was pushed').not.toBeNull();
    expect(originals).toContain(mark);
    const movedBetween = below === MOVING;
    await expectExactJobs(source, '', [...(movedBetween ? [] : [between]), above].map((p) => jobEntry('queue:default', p)), 'what was pushed above the copy (and a job of another class)');
    await expectExactJobs(redis.target(), '', [...originals, mark!, ...(movedBetween ? [between] : [])].map((p) => jobEntry('queue:default', p)), 'every original, the copy, what was pushed between');
    expect(code).toBe(0);
    expect(stdout).toContain('1 job(s) still on the source when their transfer ended, added during the run (queue:default 1): run move again or see drain-check.');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (1, above): run move again.');
  });
});
