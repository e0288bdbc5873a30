// A class-selective queue transfer slice by slice (selective-queue-transfer.ts), on small lists
// whose every job has a name: after each slice the test compares, job for job and byte for byte,
// what the source queue and the target queue hold (in fetch order), whether the pass says it is
// done, and what the slice counted. Between slices a fetcher pops the oldest jobs, now a few,
// now more than the anchor is first looked for around (16), now the anchor itself.
import { ourKeys } from '../../support/exact-jobs.js';
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import type { Placement } from '../../../core/reroute/queue-slice.js';
import { transferQueueSlice, type QueueTransferCursor } from '../../../core/transfer/queue-transfer.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const claimSha = new LuaScript('claimSelectedQueueJobs-11').sha;

/** A job named `M…` is of the selected class Move, any other name of the staying class Stay. */
const byName = new Map<string, string>();
const byBytes = new Map<string, string>();
function payload(name: string): string {
  const known = byName.get(name);
  if (known) return known;
  // Same name, same bytes (a name `X#2` is a second job with the bytes of `X`).
  const base = name.split('#')[0]!;
  const p = byName.get(base) ?? sidekiqPayload({ className: base.startsWith('M') ? 'Move' : 'Stay', queue: 'default', args: `["${base}"]`, jid: Buffer.from(base.padEnd(12, '.')).toString('hex') });
  byName.set(base, p);
  byName.set(name, p);
  byBytes.set(Buffer.from(p).toString('hex'), base);
  return p;
}
/** The names of a list's jobs, in fetch order (oldest first); bytes nobody seeded fail the test. */
byBytes.set('', 'EMPTY');
const names = (list: Buffer[]) =>
  list.reverse().map((b) => {
    const name = byBytes.get(b.toString('hex'));
    if (!name) throw new Error(`bytes no test seeded: ${b.toString().slice(0, 80)}`);
    return name;
  });
const sourceQueue = async () => names(await redis.source().lrangeBuffer('queue:default', 0, -1));
const targetQueue = async () => names(await redis.target().lrangeBuffer('queue:default', 0, -1));
/** Seeds queue:default oldest first (the first name is fetched first). */
async function seed(jobNames: readonly string[]): Promise<void> {
  for (const n of jobNames) await redis.source().lpush('queue:default', n === 'EMPTY' ? '' : payload(n));
}
/** A fetcher takes the n oldest jobs; their names. */
async function fetch(n: number): Promise<string[]> {
  const taken: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const job = await redis.source().rpopBuffer('queue:default');
    if (job) taken.push(job);
  }
  return names(taken.reverse());
}

interface Slice {
  readonly done: boolean;
  readonly examined: number | undefined;
  readonly claimed: number;
  readonly vanished?: number | undefined;
  readonly resumed?: number;
  readonly writtenTo?: Record<string, number>;
  readonly leftOnSource?: number;
  readonly source: string[];
  readonly target: string[];
}

function slicer(placement: Placement | undefined, sliceSize: number, options: { dryRun?: boolean; source?: ReturnType<typeof redis.source>; endCountJobs?: number } = {}) {
  let cursor: QueueTransferCursor | null = null;
  return async (): Promise<Slice> => {
    const result = await transferQueueSlice({
      source: options.source ?? redis.source(),
      target: redis.target(),
      sourceKeys: keys,
      targetKeys: keys,
      runId: 'slices',
      dryRun: options.dryRun ?? false,
      queue: 'default',
      cursor,
      sliceSize,
      classes: ['Move'],
      ...(placement ? { placement } : {}),
      ...(options.endCountJobs ? { endCountJobs: options.endCountJobs } : {}),
    });
    cursor = result.cursor;
    const c = result.counters;
    // Every job a slice takes (or would take) is of the selected class, counted per class and source key.
    expect(c.byClass).toEqual(c.claimed > 0 ? { Move: { 'queue:default': c.claimed } } : {});
    return {
      done: result.done,
      examined: c.examined,
      claimed: c.claimed,
      ...(c.vanished ? { vanished: c.vanished } : {}),
      ...(c.resumed ? { resumed: c.resumed } : {}),
      ...(options.dryRun ? { writtenTo: c.writtenTo } : {}),
      ...(result.done ? { leftOnSource: c.leftOnSource } : {}),
      source: await sourceQueue(),
      target: await targetQueue(),
    };
  };
}

const LIST = ['S0', 'M1', 'S2', 'M3', 'M4', 'S5', 'M6', 'S7'];

describe('a selective queue transfer, slice by slice', () => {
  it('append (oldest first), nothing else touching the queue: each slice takes the selected jobs of the next window', async () => {
    await seed(LIST);
    const slice = slicer('append', 3);
    expect(await slice()).toEqual({ done: false, examined: 3, claimed: 1, source: ['S0', 'S2', 'M3', 'M4', 'S5', 'M6', 'S7'], target: ['M1'] });
    expect(await slice()).toEqual({ done: false, examined: 3, claimed: 2, source: ['S0', 'S2', 'S5', 'M6', 'S7'], target: ['M1', 'M3', 'M4'] });
    expect(await slice()).toEqual({ done: true, examined: 2, claimed: 1, leftOnSource: 0, source: ['S0', 'S2', 'S5', 'S7'], target: ['M1', 'M3', 'M4', 'M6'] });
  });

  it('front (newest first, the default), nothing else touching the queue: each slice takes the selected jobs of the next window down', async () => {
    await seed(LIST);
    const slice = slicer(undefined, 3);
    expect(await slice()).toEqual({ done: false, examined: 3, claimed: 1, source: ['S0', 'M1', 'S2', 'M3', 'M4', 'S5', 'S7'], target: ['M6'] });
    expect(await slice()).toEqual({ done: false, examined: 3, claimed: 2, source: ['S0', 'M1', 'S2', 'S5', 'S7'], target: ['M3', 'M4', 'M6'] });
    expect(await slice()).toEqual({ done: true, examined: 2, claimed: 1, leftOnSource: 0, source: ['S0', 'S2', 'S5', 'S7'], target: ['M1', 'M3', 'M4', 'M6'] });
  });

  it('append: a fetcher takes the oldest job between slices (fewer than 16): the next slice finds its anchor lower and goes on after it', async () => {
    await seed(LIST);
    const slice = slicer('append', 3);
    expect(await slice()).toMatchObject({ claimed: 1, source: ['S0', 'S2', 'M3', 'M4', 'S5', 'M6', 'S7'], target: ['M1'] });
    expect(await fetch(1)).toEqual(['S0']);
    expect(await slice()).toEqual({ done: false, examined: 3, claimed: 2, source: ['S2', 'S5', 'M6', 'S7'], target: ['M1', 'M3', 'M4'] });
    expect(await slice()).toEqual({ done: true, examined: 2, claimed: 1, leftOnSource: 0, source: ['S2', 'S5', 'S7'], target: ['M1', 'M3', 'M4', 'M6'] });
  });

  it('append: more than 16 fetched between slices: one slice finds the anchor further down and moves nothing, the next goes on right after it', async () => {
    const stayers = Array.from({ length: 20 }, (_, i) => `S${i}`);
    await seed([...stayers, 'M20', 'S21', 'M22', 'S23']);
    const slice = slicer('append', 20);
    expect(await slice()).toMatchObject({ done: false, examined: 20, claimed: 0, target: [] });
    expect(await fetch(18)).toEqual(stayers.slice(0, 18));
    expect(await slice()).toEqual({ done: false, examined: 0, claimed: 0, source: ['S18', 'S19', 'M20', 'S21', 'M22', 'S23'], target: [] });
    expect(await slice()).toEqual({ done: true, examined: 4, claimed: 2, leftOnSource: 0, source: ['S18', 'S19', 'S21', 'S23'], target: ['M20', 'M22'] });
  });

  it('append: the anchor itself was fetched: the pass starts again from the oldest job and still takes every selected job left', async () => {
    await seed(LIST);
    const slice = slicer('append', 3);
    expect(await slice()).toMatchObject({ claimed: 1, source: ['S0', 'S2', 'M3', 'M4', 'S5', 'M6', 'S7'] });
    expect(await fetch(2)).toEqual(['S0', 'S2']);
    expect(await slice()).toEqual({ done: false, examined: 0, claimed: 0, source: ['M3', 'M4', 'S5', 'M6', 'S7'], target: ['M1'] });
    expect(await slice()).toEqual({ done: false, examined: 3, claimed: 2, source: ['S5', 'M6', 'S7'], target: ['M1', 'M3', 'M4'] });
    const rest = [await slice(), await slice()];
    expect(rest.at(-1)).toEqual({ done: true, examined: 0, claimed: 0, leftOnSource: 0, source: ['S5', 'S7'], target: ['M1', 'M3', 'M4', 'M6'] });
  });

  it('front: a fetcher takes two of the oldest between slices: the next slice finds its anchor two lower', async () => {
    await seed(LIST);
    const slice = slicer('front', 3);
    expect(await slice()).toMatchObject({ claimed: 1, source: ['S0', 'M1', 'S2', 'M3', 'M4', 'S5', 'S7'], target: ['M6'] });
    expect(await fetch(2)).toEqual(['S0', 'M1']);
    expect(await slice()).toEqual({ done: true, examined: 3, claimed: 2, leftOnSource: 0, source: ['S2', 'S5', 'S7'], target: ['M3', 'M4', 'M6'] });
  });

  it('front: more than 16 fetched between slices: one slice finds the anchor further down and moves nothing, the next goes on below it', async () => {
    const low = Array.from({ length: 26 }, (_, i) => `S${i}`);
    await seed([...low, 'M26', 'S27', 'M28', 'S29', 'M30', 'S31', 'M32', 'S33']);
    const slice = slicer('front', 4);
    expect(await slice()).toMatchObject({ done: false, examined: 4, claimed: 2, target: ['M30', 'M32'] });
    expect(await fetch(20)).toEqual(low.slice(0, 20));
    const after = [...low.slice(20), 'M26', 'S27', 'M28', 'S29', 'S31', 'S33'];
    expect(await slice()).toEqual({ done: false, examined: 0, claimed: 0, source: after, target: ['M30', 'M32'] });
    expect(await slice()).toEqual({ done: false, examined: 4, claimed: 2, source: [...low.slice(20), 'S27', 'S29', 'S31', 'S33'], target: ['M26', 'M28', 'M30', 'M32'] });
    expect(await slice()).toMatchObject({ done: false, examined: 4, claimed: 0 });
    expect(await slice()).toEqual({ done: true, examined: 2, claimed: 0, leftOnSource: 0, source: [...low.slice(20), 'S27', 'S29', 'S31', 'S33'], target: ['M26', 'M28', 'M30', 'M32'] });
  });

  it('front: the anchor and everything below it were fetched: the pass looks again from the head, where a producer pushed a selected job', async () => {
    await seed(LIST);
    const slice = slicer('front', 3);
    expect(await slice()).toMatchObject({ claimed: 1, source: ['S0', 'M1', 'S2', 'M3', 'M4', 'S5', 'S7'] });
    expect(await fetch(6)).toEqual(['S0', 'M1', 'S2', 'M3', 'M4', 'S5']);
    await redis.source().lpush('queue:default', payload('M8'));
    expect(await slice()).toEqual({ done: false, examined: 0, claimed: 0, source: ['S7', 'M8'], target: ['M6'] });
    expect(await slice()).toEqual({ done: true, examined: 2, claimed: 1, leftOnSource: 0, source: ['S7'], target: ['M8', 'M6'] });
  });

  /** The source client, with `between` run just before each claim reaches Redis (after the slice's read). */
  function beforeClaims(between: () => Promise<void>) {
    let armed = true;
    const source = interferingRedis(redis.source(), async (call) => {
      if (armed && call.scripts.includes(claimSha)) {
        armed = false;
        await between();
      }
    });
    return { source, arm: () => (armed = true) };
  }

  it('front: a fetcher pops between the read and the claim: the claim finds the jobs one lower and takes them; the next slice goes on from there', async () => {
    await seed(LIST);
    const popped: string[] = [];
    const { source } = beforeClaims(async () => void popped.push(...(await fetch(1))));
    const slice = slicer('front', 3, { source });
    expect(await slice()).toEqual({ done: false, examined: 3, claimed: 1, source: ['M1', 'S2', 'M3', 'M4', 'S5', 'S7'], target: ['M6'] });
    expect(popped).toEqual(['S0']);
    expect(await slice()).toEqual({ done: false, examined: 3, claimed: 2, source: ['M1', 'S2', 'S5', 'S7'], target: ['M3', 'M4', 'M6'] });
    expect(await slice()).toEqual({ done: true, examined: 1, claimed: 1, leftOnSource: 0, source: ['S2', 'S5', 'S7'], target: ['M1', 'M3', 'M4', 'M6'] });
  });

  it('append: a chosen job fetched between the read and the claim is counted as vanished; the others are taken', async () => {
    await seed(LIST);
    const { source } = beforeClaims(async () => void (await fetch(2)));
    const slice = slicer('append', 4, { source });
    expect(await slice()).toEqual({ done: false, examined: 4, claimed: 1, vanished: 1, source: ['S2', 'M4', 'S5', 'M6', 'S7'], target: ['M3'] });
    expect(await slice()).toEqual({ done: true, examined: 4, claimed: 2, leftOnSource: 0, source: ['S2', 'S5', 'S7'], target: ['M3', 'M4', 'M6'] });
  });

  it('append: a job removed from the middle between the read and the claim: the slice takes nothing, the next reads again and takes them', async () => {
    await seed(LIST);
    const { source } = beforeClaims(async () => void (await redis.source().lrem('queue:default', 1, payload('S2'))));
    const slice = slicer('append', 4, { source });
    expect(await slice()).toEqual({ done: false, examined: 4, claimed: 0, source: ['S0', 'M1', 'M3', 'M4', 'S5', 'M6', 'S7'], target: [] });
    expect(await slice()).toEqual({ done: false, examined: 4, claimed: 3, source: ['S0', 'S5', 'M6', 'S7'], target: ['M1', 'M3', 'M4'] });
    const last = await slice();
    expect(last).toMatchObject({ claimed: 1, source: ['S0', 'S5', 'S7'], target: ['M1', 'M3', 'M4', 'M6'] });
  });

  it.each(['append', 'front'] as const)('%s, dry run: each slice counts the selected jobs of its window once; nothing changes on either server', async (placement) => {
    await seed(LIST);
    const slice = slicer(placement, 3, { dryRun: true });
    const slices = [await slice(), await slice(), await slice()];
    expect(slices.map((s) => [s.examined, s.claimed, s.done])).toEqual(placement === 'append' ? [[3, 1, false], [3, 2, false], [2, 1, true]] : [[3, 1, false], [3, 2, false], [2, 1, true]]);
    expect(slices.at(-1)).toMatchObject({ leftOnSource: 0, source: LIST, target: [] });
    expect(slices.map((s) => s.writtenTo)).toEqual([{ default: 1 }, { default: 2 }, { default: 1 }]);
  });

  it('append, dry run: a job with the anchor\'s bytes just below it does not make the pass count a window twice', async () => {
    await seed(['X', 'S1', 'X#2', 'M3', 'M4']);
    const slice = slicer('append', 3, { dryRun: true });
    const slices = [await slice(), await slice()];
    expect(slices.map((s) => [s.examined, s.claimed, s.done])).toEqual([[3, 0, false], [2, 2, true]]);
  });

  it('front, dry run: a job with the anchor\'s bytes just above it does not make the pass count a window twice', async () => {
    await seed(['M0', 'X', 'S2', 'X#2']);
    const slice = slicer('front', 3, { dryRun: true });
    const slices = [await slice(), await slice()];
    expect(slices.map((s) => [s.examined, s.claimed, s.done])).toEqual([[3, 0, false], [1, 1, true]]);
  });

  it('append: a job with the anchor\'s bytes below it, nothing moved: the anchor is found where it was, the pass reaches the last selected job (it used to end early, leaving it)', async () => {
    await seed(['X', 'S1', 'M2', 'X#2', 'M4']);
    const slice = slicer('append', 1);
    const slices: Slice[] = [];
    for (let i = 0; i < 6 && !slices.at(-1)?.done; i++) slices.push(await slice());
    expect(slices.at(-1)).toMatchObject({ done: true, leftOnSource: 0, source: ['X', 'S1', 'X'], target: ['M2', 'M4'] });
    expect(slices.map((s) => s.claimed)).toEqual([0, 0, 1, 0, 1]);
  });

  it('front: a job with the anchor\'s bytes above it, nothing moved: the anchor is found where it was, the pass reaches the oldest selected job (it used to go back up for ever)', async () => {
    await seed(['M0', 'X', 'M2', 'S3', 'X#2']);
    const slice = slicer('front', 1);
    const slices: Slice[] = [];
    for (let i = 0; i < 6 && !slices.at(-1)?.done; i++) slices.push(await slice());
    expect(slices.at(-1)).toMatchObject({ done: true, leftOnSource: 0, source: ['X', 'S3', 'X'], target: ['M0', 'M2'] });
    expect(slices.map((s) => s.claimed)).toEqual([0, 0, 1, 0, 1]);
  });

  it.each(['append', 'front'] as const)('%s: slices larger than 16 jobs, five fetched between slices: each slice takes the selected jobs of its whole window', async (placement) => {
    const list = Array.from({ length: 60 }, (_, i) => (i % 3 === 1 ? `M${i}` : `S${i}`));
    await seed(list);
    const slice = slicer(placement, 20);
    const isM = (n: string) => n.startsWith('M');
    const byNumber = (a: string, b: string) => Number(a.slice(1)) - Number(b.slice(1));
    // append walks up from the oldest, front down from the newest: the first window is 0…19 or 40…59,
    // the second the 20 jobs next to its last staying one (18 or 41): 20…39 either way.
    const first = placement === 'append' ? list.slice(0, 20) : list.slice(40);
    const one = await slice();
    expect(one).toEqual({ done: false, examined: 20, claimed: first.filter(isM).length, source: list.filter((n) => !first.includes(n) || !isM(n)), target: first.filter(isM) });
    const fetched = await fetch(5);
    expect(fetched).toEqual(one.source.slice(0, 5));
    const second = list.slice(20, 40);
    const gone = new Set([...fetched, ...first.filter(isM), ...second.filter(isM)]);
    expect(await slice()).toEqual({ done: false, examined: 20, claimed: second.filter(isM).length, source: list.filter((n) => !gone.has(n)), target: [...first, ...second].filter(isM).sort(byNumber) });
    const third = await slice();
    expect(third).toMatchObject({ done: true, leftOnSource: 0 });
    expect(third.source.filter(isM)).toEqual([]);
    expect(third.target).toEqual(list.filter((n) => isM(n) && !fetched.includes(n)));
  });

  it.each([
    ['append', 16, 'near', [[20, 0], [20, 5]]],
    ['append', 17, 'far', [[20, 0], [0, 0], [20, 5]]],
    ['front', 16, 'near', [[20, 5], [4, 0]]],
    ['front', 17, 'far', [[20, 5], [0, 0], [3, 0]]],
  ] as const)('%s: %i fetched between slices: the anchor is found %s (examined and taken per slice)', async (placement, pops, _where, perSlice) => {
    // 40 jobs, every 4th of the newest 20 selected. After the first slice (20 jobs) the anchor is
    // at 19 (append: the oldest 20 all stay) or 20 (front): 16 pops leave it within 16 of where
    // it was looked for, 17 do not.
    const list = Array.from({ length: 40 }, (_, i) => (i >= 20 && i % 4 === 3 ? `M${i}` : `S${i}`));
    await seed(list);
    const slice = slicer(placement, 20);
    const slices = [await slice()];
    await fetch(pops);
    while (!slices.at(-1)!.done && slices.length < 5) slices.push(await slice());
    expect(slices.map((s) => [s.examined, s.claimed])).toEqual(perSlice);
    expect(slices.at(-1)).toMatchObject({ done: true, leftOnSource: 0, target: list.filter((n) => n.startsWith('M')) });
    expect(slices.at(-1)!.source).toEqual(list.slice(pops).filter((n) => !n.startsWith('M')));
  });

  it('append: the anchor fetched down to the oldest place (17 fetched from 17): found there, the next slice starts right above it', async () => {
    const list = [...Array.from({ length: 18 }, (_, i) => `S${i}`), 'M18', 'S19', 'M20'];
    await seed(list);
    const slice = slicer('append', 18);
    expect(await slice()).toMatchObject({ examined: 18, claimed: 0 });
    await fetch(17);
    expect(await slice()).toEqual({ done: false, examined: 0, claimed: 0, source: ['S17', 'M18', 'S19', 'M20'], target: [] });
    expect(await slice()).toEqual({ done: true, examined: 3, claimed: 2, leftOnSource: 0, source: ['S17', 'S19'], target: ['M18', 'M20'] });
  });

  it('front: 1,500 fetched between slices: the anchor is found more than one read chunk (1,000) down, and the pass goes on below it', async () => {
    const list = Array.from({ length: 2100 }, (_, i) => (i >= 2090 && i < 2096 && i % 2 === 0 ? `M${i}` : `S${i}`));
    for (let i = 0; i < list.length; i += 500) await redis.source().lpush('queue:default', ...list.slice(i, i + 500).map(payload));
    const slice = slicer('front', 4);
    expect(await slice()).toMatchObject({ examined: 4, claimed: 0 });
    await redis.source().rpop('queue:default', 1500);
    expect(await slice()).toMatchObject({ done: false, examined: 0, claimed: 0 });
    // The anchor (job 2096, at offset 596 now): the next window is offsets 592…595, jobs 2092…2095.
    expect(await slice()).toMatchObject({ done: false, examined: 4, claimed: 2, target: ['M2092', 'M2094'] });
  });

  it.each(['append', 'front'] as const)('%s: 1,100 jobs pushed during the pass, half of them selected: the 550 are counted as left on the source, and stay', async (placement) => {
    await seed(LIST);
    const slice = slicer(placement, 3);
    await slice();
    const late = Array.from({ length: 1100 }, (_, i) => (i % 2 ? `M-late${i}` : `S-late${i}`));
    for (let i = 0; i < late.length; i += 500) await redis.source().lpush('queue:default', ...late.slice(i, i + 500).map(payload));
    await slice();
    const last = await slice();
    expect(last).toMatchObject({ done: true, leftOnSource: 550, target: ['M1', 'M3', 'M4', 'M6'] });
    expect(last.source).toEqual(['S0', 'S2', 'S5', 'S7', ...late]);
  });

  it.each([
    ['append', false, 23],
    ['append', true, 23],
    ['front', false, 22],
  ] as const)('%s (dry run: %s): the end count reads at most endCountJobs a slice and goes on in the next slices, adding up to the whole count', async (placement, dryRun, arrivals) => {
    // With a bound of 4 jobs a slice, the count (the whole queue, where Sidekiq's requeue may have
    // put selected jobs back and a fetcher's pop moved the pass's bound; a dry run: what lies above
    // the pass) takes slices
    // of its own; each reads at most 4 jobs, and they add up to every selected job left.
    await seed(LIST);
    let read = 0;
    const source = new Proxy(redis.source(), {
      get(target, prop, receiver) {
        if (prop !== 'lrangeBuffer') return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: Parameters<typeof target.lrangeBuffer>) => {
          const jobs = await target.lrangeBuffer(...args);
          read += jobs.length;
          return jobs;
        };
      },
    });
    let cursor: QueueTransferCursor | null = null;
    const request = { source, target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'count', dryRun, queue: 'default', sliceSize: 3, classes: ['Move'], placement, endCountJobs: 4 };
    const late = Array.from({ length: arrivals }, (_, i) => (i % 3 === 0 ? `M-late${i}` : `S-late${i}`));
    const slices: { counting: boolean; read: number; done: boolean; left: number }[] = [];
    for (let i = 0; i < 40; i++) {
      if (i === 1) {
        for (const name of late) await redis.source().lpush('queue:default', payload(name));
        // A stopping Sidekiq pushes a selected job back below the pass (append only: front reads down to the tail).
        if (placement === 'append' && !dryRun) await redis.source().rpush('queue:default', payload('M-back'));
      }
      const counting = (cursor as QueueTransferCursor | null)?.selection?.count !== undefined;
      read = 0;
      const result = await transferQueueSlice({ ...request, cursor });
      cursor = result.cursor;
      slices.push({ counting, read, done: result.done, left: result.counters.leftOnSource });
      if (result.done) break;
    }
    const queue = await sourceQueue();
    const counted = !dryRun ? queue.length : arrivals;
    const parts = slices.filter((s) => s.counting);
    // The first part in the slice that ended the windows. Counted to the tail (not a dry run), a part that
    // read exactly its 4 to the list's end cannot know it ended there (a job may have been pushed
    // back since): one more part reads on from its last job, and finds the end.
    expect(parts.length).toBe(!dryRun ? Math.floor(counted / 4) : Math.ceil(counted / 4) - 1);
    // 4 jobs, and one more: each part after the first starts on the last job read before, to see nothing moved it.
    expect(parts.every((s) => s.read <= 5)).toBe(true);
    expect(slices.slice(0, -1).every((s) => !s.done)).toBe(true);
    expect(slices.at(-1)!.done).toBe(true);
    expect(slices.reduce((n, s) => n + s.left, 0)).toBe(late.filter((n) => n.startsWith('M')).length + (placement === 'append' && !dryRun ? 1 : 0));
    expect(await targetQueue()).toEqual(dryRun ? [] : ['M1', 'M3', 'M4', 'M6']);
    expect(queue).toEqual([...(placement === 'append' && !dryRun ? ['M-back'] : []), ...(dryRun ? LIST : ['S0', 'S2', 'S5', 'S7']), ...late]);
  });

  it('a slice that died after its claim: the next one writes the jobs left in flight first, once, counting them as resumed', async () => {
    await seed(LIST);
    const dying = interferingRedis(redis.target(), () => {
      throw new SimulatedCrash('died before writing');
    });
    await expect(
      transferQueueSlice({ source: redis.source(), target: dying, sourceKeys: keys, targetKeys: keys, runId: 'slices', dryRun: false, queue: 'default', cursor: null, sliceSize: 3, classes: ['Move'], placement: 'append' }),
    ).rejects.toThrow();
    const slice = slicer('append', 3);
    const next = await slice();
    expect(next).toEqual({ done: false, examined: 3, claimed: 1, resumed: 1, source: ['S0', 'S2', 'M4', 'S5', 'M6', 'S7'], target: ['M1', 'M3'] });
    // Nothing in flight; the pass (not done) keeps only its start: the length then, 2 claimed since,
    // and its mark, the newest original (claimSelectedQueueJobs-11.lua KEYS[6]).
    expect(await ourKeys(redis.source())).toEqual(['sidekiq-migrate:slices:originals:queue:default']);
    expect(await redis.source().get('sidekiq-migrate:slices:originals:queue:default')).toBe(`8 2 \n${payload('S7')}`);
  });

  it('front: everything below the window fetched between the read and the claim: the claim takes what is left of it, and the pass is done', async () => {
    await seed(LIST);
    const { source } = beforeClaims(async () => void (await fetch(6)));
    const slice = slicer('front', 3, { source });
    expect(await slice()).toEqual({ done: true, examined: 3, claimed: 1, leftOnSource: 0, source: ['S7'], target: ['M6'] });
  });

  it('front: a first window whose every job is taken leaves no anchor; the pass goes on below it', async () => {
    await seed(['M0', 'S1', 'M2', 'M3']);
    const slice = slicer('front', 2);
    expect(await slice()).toEqual({ done: false, examined: 2, claimed: 2, source: ['M0', 'S1'], target: ['M2', 'M3'] });
    expect(await slice()).toEqual({ done: true, examined: 2, claimed: 1, leftOnSource: 0, source: ['S1'], target: ['M0', 'M2', 'M3'] });
  });

  it.each([
    [['M0'], ['M0'], []],
    [['M0', 'S1'], ['M0'], ['S1']],
  ])('front: a queue shorter than a slice (%j): one slice takes its selected jobs and is done', async (list, taken, staying) => {
    await seed(list);
    const slice = slicer('front', 3);
    expect(await slice()).toEqual({ done: true, examined: list.length, claimed: taken.length, leftOnSource: 0, source: staying, target: taken });
  });

  it('append, slices of one job: a window whose only job is taken keeps the anchor below it, at the oldest place', async () => {
    await seed(['S0', 'M1', 'M2', 'M3']);
    const slice = slicer('append', 1);
    const slices = [await slice(), await slice(), await slice(), await slice()];
    expect(slices.map((s) => [s.examined, s.claimed, s.done])).toEqual([[1, 0, false], [1, 1, false], [1, 1, false], [1, 1, true]]);
    expect(slices.at(-1)).toMatchObject({ leftOnSource: 0, source: ['S0'], target: ['M1', 'M2', 'M3'] });
  });

  it('append: a first window whose every job is taken leaves no anchor; the pass goes on from the oldest job left', async () => {
    await seed(['M0', 'M1', 'S2', 'M3']);
    const slice = slicer('append', 2);
    expect(await slice()).toEqual({ done: false, examined: 2, claimed: 2, source: ['S2', 'M3'], target: ['M0', 'M1'] });
    expect(await slice()).toEqual({ done: true, examined: 2, claimed: 1, leftOnSource: 0, source: ['S2'], target: ['M0', 'M1', 'M3'] });
  });

  it('append: the last staying job of a window fetched between the read and the claim: the next slice starts again from the oldest job', async () => {
    await seed(LIST);
    const { source } = beforeClaims(async () => void (await fetch(1)));
    const slice = slicer('append', 2, { source });
    expect(await slice()).toEqual({ done: false, examined: 2, claimed: 1, source: ['S2', 'M3', 'M4', 'S5', 'M6', 'S7'], target: ['M1'] });
    expect(await slice()).toEqual({ done: false, examined: 2, claimed: 1, source: ['S2', 'M4', 'S5', 'M6', 'S7'], target: ['M1', 'M3'] });
  });

  it.each([
    [16, 'found where it was pushed up to: the next window starts right above it', [[3, 1], [3, 2]]],
    [17, 'not found (the pass looks only below for it): the pass starts again from the oldest job', [[3, 1], [0, 0], [3, 0]]],
  ] as const)('append: %i jobs pushed back at the tail (a stopping Sidekiq) between slices: the anchor is %s', async (back, _what, perSlice) => {
    await seed(LIST);
    const slice = slicer('append', 3);
    const slices = [await slice()];
    const returned = Array.from({ length: back }, (_, i) => `R${i}`);
    for (const n of returned) await redis.source().rpush('queue:default', payload(n));
    slices.push(await slice());
    if (back === 17) slices.push(await slice());
    expect(slices.map((s) => [s.examined, s.claimed])).toEqual(perSlice);
  });

  it('append, dry run: when fetchers emptied the queue past the pass, the next window is empty and the pass is done', async () => {
    await seed(LIST);
    const slice = slicer('append', 3, { dryRun: true });
    const slices = [await slice()];
    await fetch(7);
    for (let i = 0; i < 4 && !slices.at(-1)!.done; i++) slices.push(await slice());
    expect(slices.map((s) => [s.examined, s.claimed, s.done])).toEqual([[3, 1, false], [0, 0, false], [1, 0, false], [0, 0, true]]);
  });

  it('append, slices of 200: a fetcher pops 100 between the read and the claim; the claim finds them 100 lower and takes them', async () => {
    const list = Array.from({ length: 400 }, (_, i) => (i % 2 && i > 100 ? `M${i}` : `S${i}`));
    for (let i = 0; i < list.length; i += 200) await redis.source().lpush('queue:default', ...list.slice(i, i + 200).map(payload));
    const { source } = beforeClaims(async () => void (await redis.source().rpop('queue:default', 100)));
    const slice = slicer('append', 200, { source });
    const first = await slice();
    expect(first).toMatchObject({ examined: 200, claimed: 50, target: list.slice(101, 200).filter((n) => n.startsWith('M')) });
  });

  it('append: an empty payload (unparsable, it stays) keeps its place while the jobs around it are taken', async () => {
    // The taken jobs are nearer the tail: they are removed from that end, past the empty payload.
    await seed(['EMPTY', 'S1', 'M2', 'M3', 'S4', 'S5', 'S6']);
    const slice = slicer('append', 7);
    expect(await slice()).toEqual({ done: true, examined: 7, claimed: 2, leftOnSource: 0, source: ['EMPTY', 'S1', 'S4', 'S5', 'S6'], target: ['M2', 'M3'] });
  });

  it('append: a window taken whole while the anchor below it is fetched between the read and the claim: the next slice starts again from the oldest job', async () => {
    await seed(['S0', 'M1', 'M2', 'M3', 'S4', 'M5']);
    let claims = 0;
    const source = interferingRedis(redis.source(), async (call) => {
      if (call.scripts.includes(claimSha) && ++claims === 2) await fetch(1);
    });
    const slice = slicer('append', 2, { source });
    expect(await slice()).toEqual({ done: false, examined: 2, claimed: 1, source: ['S0', 'M2', 'M3', 'S4', 'M5'], target: ['M1'] });
    expect(await slice()).toEqual({ done: false, examined: 2, claimed: 2, source: ['S4', 'M5'], target: ['M1', 'M2', 'M3'] });
    expect(await slice()).toEqual({ done: true, examined: 2, claimed: 1, leftOnSource: 0, source: ['S4'], target: ['M1', 'M2', 'M3', 'M5'] });
  });

  it('append: 17 pushed back at the tail above an anchor at 19: not found (looked for within 16, and below): the pass starts again from the oldest job', async () => {
    const list = [...Array.from({ length: 20 }, (_, i) => `S${i}`), 'M20', 'S21'];
    await seed(list);
    const slice = slicer('append', 20);
    expect(await slice()).toMatchObject({ examined: 20, claimed: 0 });
    for (let i = 0; i < 17; i++) await redis.source().rpush('queue:default', payload(`R${i}`));
    expect(await slice()).toMatchObject({ done: false, examined: 0, claimed: 0, target: [] });
  });

  it.each([
    ['front', 'fetchers pop the oldest', 2, 0],
    ['front', 'producers push at the head', 0, 2],
    ['append', 'producers push at the head', 0, 2],
    ['front', 'both', 2, 2],
  ] as const)('%s: the end count carried over slices counts each selected job left once while %s between its parts', async (placement, _what, pops, pushes) => {
    // The count reads from the head by index, bounded below by a tail offset taken when the
    // windows ended. Between its parts Sidekiq goes on: a fetcher popping the oldest (unselected)
    // originals moves every tail offset down, a producer pushing (unselected) jobs at the head
    // moves every head index up. Each selected job left is counted once all the same.
    await seed(LIST);
    let cursor: QueueTransferCursor | null = null;
    const request = { source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'count', dryRun: false, queue: 'default', sliceSize: 3, classes: ['Move'], placement, endCountJobs: 4 };
    const late = Array.from({ length: 22 }, (_, i) => (i % 3 === 0 ? `M-late${i}` : `S-late${i}`));
    let left = 0;
    let parts = 0;
    for (let i = 0; i < 40; i++) {
      if (i === 1) for (const name of late) await redis.source().lpush('queue:default', payload(name));
      if ((cursor as QueueTransferCursor | null)?.selection?.count !== undefined) {
        parts++;
        // Only unselected originals are fetched (the oldest four stay after the pass: S0 S2 S5 S7), at most twice.
        if (parts <= 2) await fetch(pops);
        for (let p = 0; p < pushes; p++) await redis.source().lpush('queue:default', payload(`S-new${parts}-${p}`));
      }
      const result = await transferQueueSlice({ ...request, cursor });
      cursor = result.cursor;
      left += result.counters.leftOnSource;
      if (result.done) break;
    }
    expect(parts).toBeGreaterThan(1);
    const selectedLeft = (await sourceQueue()).filter((n) => n.startsWith('M')).length;
    expect(selectedLeft).toBe(late.filter((n) => n.startsWith('M')).length);
    expect(left).toBe(selectedLeft);
  });

  it.each(['front', 'append'] as const)('%s: producers pushing at the head between the reads of one end count part (1,000 jobs a read): each selected job left counted once', async (placement) => {
    await seed(LIST);
    const late = Array.from({ length: 2500 }, (_, i) => (i % 3 === 0 ? `M-late${i}` : `S-late${i}`));
    let pushed = 0;
    // Before each read of the count (from the head: non-negative indices; the windows read by tail offset), a producer pushes 5 unselected jobs.
    const source = new Proxy(redis.source(), {
      get(target, prop, receiver) {
        if (prop !== 'lrangeBuffer') return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: Parameters<typeof target.lrangeBuffer>) => {
          if (Number(args[1]) >= 0 && Number(args[2]) > 0) for (let p = 0; p < 5; p++) await target.lpush('queue:default', payload(`S-new${pushed++}`));
          return target.lrangeBuffer(...args);
        };
      },
    });
    let cursor: QueueTransferCursor | null = null;
    let left = 0;
    for (let i = 0; i < 40; i++) {
      if (i === 1) await redis.source().lpush('queue:default', ...late.map(payload));
      const result = await transferQueueSlice({ source, target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'count', dryRun: false, queue: 'default', sliceSize: 3, classes: ['Move'], placement, cursor });
      cursor = result.cursor;
      left += result.counters.leftOnSource;
      if (result.done) break;
    }
    expect(pushed).toBeGreaterThanOrEqual(10);
    expect((await sourceQueue()).filter((n) => n.startsWith('M')).length).toBe(late.filter((n) => n.startsWith('M')).length);
    expect(left).toBe(late.filter((n) => n.startsWith('M')).length);
  });

  it('append: a selected job requeued at the tail (a shutdown RPUSH) between the count\'s parts is counted left (the whole queue is counted, to its tail)', async () => {
    // An oldest-first pass counts the whole queue at its end, down to the tail, because a job
    // Sidekiq pushes back there lands below every window. The count's parts went on reading only
    // as many jobs as the queue held at its first part: a job pushed back after it was not counted,
    // and the summary said no selected job left while one was.
    await seed(LIST);
    let cursor: QueueTransferCursor | null = null;
    const request = { source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'count', dryRun: false, queue: 'default', sliceSize: 3, classes: ['Move'], placement: 'append' as const, endCountJobs: 4 };
    const late = Array.from({ length: 22 }, (_, i) => (i % 3 === 0 ? `M-late${i}` : `S-late${i}`));
    let left = 0;
    let parts = 0;
    for (let i = 0; i < 40; i++) {
      if (i === 1) for (const name of late) await redis.source().lpush('queue:default', payload(name));
      if ((cursor as QueueTransferCursor | null)?.selection?.count !== undefined && ++parts === 1) await redis.source().rpush('queue:default', payload('M-requeued'));
      const result = await transferQueueSlice({ ...request, cursor });
      cursor = result.cursor;
      left += result.counters.leftOnSource;
      if (result.done) break;
    }
    expect(parts).toBeGreaterThan(1);
    const selectedLeft = (await sourceQueue()).filter((n) => n.startsWith('M'));
    expect(selectedLeft).toContain('M-requeued');
    expect(left).toBe(selectedLeft.length);
  });
});

describe('a front (newest-first) pass\'s end count', () => {
  it('a fetcher pops between the pass\'s final claim and the count\'s first read: the selected job that arrived meanwhile is still counted left', async () => {
    // The count read the jobs above the pass's bound (`end`, a tail offset as the final claim left
    // it): the queue's length less `end`, from the head. A fetcher's pop in between moved that
    // boundary one lower, and the count read one job too few: the oldest that arrived during the
    // pass, selected here, was not counted, and the summary said fewer were left than were.
    await seed(LIST);
    let stage: 'before claim' | 'claimed' | 'popped' = 'before claim';
    const source = interferingRedis(redis.source(), async (call) => {
      const claim = call.command === 'evalsha' || call.scripts.includes(claimSha);
      if (stage === 'before claim' && claim) {
        // A producer pushes a selected job while the pass runs: above its bound.
        await redis.source().lpush('queue:default', payload('M-late'));
        stage = 'claimed';
      } else if (stage === 'claimed' && call.command === 'multi') {
        expect(await fetch(1)).toEqual(['S0']);
        stage = 'popped';
      }
    });
    const slice = slicer('front', 8, { source });

    const s = await slice();

    expect(stage).toBe('popped');
    expect(s).toMatchObject({ done: true, claimed: 4, source: ['S2', 'S5', 'S7', 'M-late'], target: ['M1', 'M3', 'M4', 'M6'] });
    expect(s.leftOnSource).toBe(1);
  });
});
