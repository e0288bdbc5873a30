// A class-selective transfer of a sorted set slice by slice (selective-set-transfer.ts): entries at
// the infinite scores, a pass that started on an empty set, a dry-run page without a selected entry.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { transferSetSlice, type SetTransferCursor, type SetTransferRequest } from '../../../core/transfer/set-transfer.js';
import { jobEntry, jobsIn, keyValueSnapshot } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const job = (name: string) => sidekiqPayload({ className: name.startsWith('M') ? 'Move' : 'Stay', queue: 'default', args: `["${name}"]`, jid: Buffer.from(name.padEnd(12, '.')).toString('hex') });
const slice = (request: Partial<SetTransferRequest> & Pick<SetTransferRequest, 'cursor'>) =>
  transferSetSlice({ source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'sel-set', dryRun: false, sliceSize: 2, set: 'retry', classes: ['Move'], ...request });
const state = async () => ({ source: await jobsIn(redis.source()), target: await jobsIn(redis.target()) });

describe('a selective set transfer, slice by slice', () => {
  it('takes selected entries at the scores -inf and inf, with those scores; the staying ones keep theirs', async () => {
    const entries = [['-inf', 'M-low'], ['-inf', 'S-low'], ['5', 'M5'], ['inf', 'M-high'], ['inf', 'S-high']] as const;
    for (const [score, name] of entries) await redis.source().zadd('retry', score, job(name));
    let cursor: SetTransferCursor | null = null;
    for (let i = 0; i < 6; i++) {
      const r = await slice({ cursor });
      cursor = r.cursor;
      if (r.done) break;
    }
    expect(await state()).toEqual({
      source: [jobEntry('retry', job('S-low'), '-inf'), jobEntry('retry', job('S-high'), 'inf')].sort(),
      target: [jobEntry('retry', job('M-low'), '-inf'), jobEntry('retry', job('M5'), '5'), jobEntry('retry', job('M-high'), 'inf')].sort(),
    });
  });

  it('a pass that started on an empty set is done at once: an entry added since is not examined', async () => {
    await redis.source().zadd('retry', '-5', job('M-late'));
    const r = await slice({ cursor: { limit: 0, claimed: 0, selection: { endScore: null, anchor: null } } });
    expect(r).toMatchObject({ done: true, counters: { claimed: 0, examined: 0, leftOnSource: 1 } });
    expect(await state()).toEqual({ source: [jobEntry('retry', job('M-late'), '-5')], target: [] });
  });

  it('selected entries added above the highest score of the start stay, and the last slice counts them (not the others)', async () => {
    for (const [score, name] of [['1', 'M1'], ['2', 'S2'], ['3', 'M3']] as const) await redis.source().zadd('retry', score, job(name));
    const first = await slice({ cursor: null });
    // A selected job and another class fail meanwhile: due after everything the pass started with.
    await redis.source().zadd('retry', '10', job('M-late'), '11', job('S-late'));
    let r = first;
    for (let i = 0; i < 5 && !r.done; i++) r = await slice({ cursor: r.cursor });

    expect(r.done).toBe(true);
    expect(r.counters.leftOnSource).toBe(1);
    expect(await state()).toEqual({
      source: [jobEntry('retry', job('S2'), '2'), jobEntry('retry', job('M-late'), '10'), jobEntry('retry', job('S-late'), '11')].sort(),
      target: [jobEntry('retry', job('M1'), '1'), jobEntry('retry', job('M3'), '3')].sort(),
    });
  });

  it('a selected entry added meanwhile below the ranks already passed (a retry due sooner) is counted as left, a conflict given back is not', async () => {
    for (const [score, name] of [['1', 'M1'], ['2', 'S2'], ['3', 'M3'], ['4', 'S4'], ['5', 'M5']] as const) await redis.source().zadd('retry', score, job(name));
    await redis.target().zadd('retry', '9', job('M3')); // its bytes are already there: a conflict, given back
    let r = await slice({ cursor: null });
    r = await slice({ cursor: r.cursor });
    // A selected job fails now, due sooner than the entries the pass has passed; so does another class's.
    await redis.source().zadd('retry', '1.5', job('M-soon'), '1.25', job('S-soon'));
    for (let i = 0; i < 5 && !r.done; i++) r = await slice({ cursor: r.cursor });

    expect(r.done).toBe(true);
    // It was 0: only entries above the highest score of the start were counted, and the move said "Complete".
    expect(r.counters.leftOnSource).toBe(1);
    expect(await state()).toEqual({
      source: [jobEntry('retry', job('S-soon'), '1.25'), jobEntry('retry', job('M-soon'), '1.5'), jobEntry('retry', job('S2'), '2'), jobEntry('retry', job('M3'), '3'), jobEntry('retry', job('S4'), '4')].sort(),
      target: [jobEntry('retry', job('M1'), '1'), jobEntry('retry', job('M3'), '9'), jobEntry('retry', job('M5'), '5')].sort(),
    });
  });

  it('dry run: a page without a selected entry counts nothing, and no destination; nothing is written', async () => {
    for (const [score, name] of [['1', 'S1'], ['2', 'S2'], ['3', 'M3'], ['4', 'S4']] as const) await redis.source().zadd('retry', score, job(name));
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };
    const first = await slice({ cursor: null, dryRun: true });
    expect(first).toMatchObject({ done: false, counters: { examined: 2, claimed: 0, written: 0 } });
    expect(first.counters.writtenTo).toEqual({});
    const second = await slice({ cursor: first.cursor, dryRun: true });
    expect(second).toMatchObject({ counters: { examined: 2, claimed: 1, written: 1, writtenTo: { retry: 1 }, byClass: { Move: { retry: 1 } } } });
    expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);
  });

  it('with no entry at inf, a selected entry at -inf is taken (it is not above the highest score of the start)', async () => {
    for (const [score, name] of [['-inf', 'M-low'], ['5', 'S5']] as const) await redis.source().zadd('retry', score, job(name));
    const first = await slice({ cursor: null });
    expect(first.done).toBe(false);
    expect((await slice({ cursor: first.cursor })).done).toBe(true);
    expect(await state()).toEqual({ source: [jobEntry('retry', job('S5'), '5')], target: [jobEntry('retry', job('M-low'), '-inf')] });
  });
});
