// PageMoves (move-record.ts) against its version before audit-speed-cpu (reference-page-moves/,
// kept verbatim): its members are now written once per process rather than once per Lua call, and
// a call keeps one map (issue #18). Every call's record must be what it was, byte for byte: the
// same 1-based index returned for each job's move, and the same members in the same order, for
// any sequence of moves, with several calls built side by side, and past the process's cache of
// members (which starts over after KNOWN_MOVES_KEPT distinct moves).
import { describe, expect, it } from 'vitest';
import { PLAIN_SHAPE, type MoveShape } from '../../../core/payload/move-shape.js';
import { PageMoves, recordArgs } from '../../../core/reroute/move-record.js';
import { prng } from '../../support/seeded-random.js';
import { PageMoves as ReferencePageMoves } from './reference-page-moves/page-moves.js';

const CLASSES = ['A', 'B', 'Gitlab::Worker', 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper', 'Ünïcode', 'quote"d', 'back\\slash', ''];
const QUEUES = [null, '', 'default', 'mailers', 'old', 'new', 'ns:queue', 'é', 'a"b'];
const SHAPES: MoveShape[] = [PLAIN_SHAPE, {}, { queue: null }, { queue: '"d\\u0065fault"' }, { queueName: '"old"' }, { queue: null, queueName: '"x"' }, { queue: '"other"', queueName: '"y"' }];

type Move = [string, string | null, string, MoveShape];

function randomMove(random: () => number): Move {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  return [pick(CLASSES), pick(QUEUES), pick(QUEUES.filter((q) => q !== null)) as string, pick(SHAPES)];
}

/** Adds `moves` to `calls` new and reference PageMoves, each move to a random one, comparing every index, then every record. */
function compare(moves: readonly Move[], calls: number, random: () => number): void {
  const ours = Array.from({ length: calls }, () => new PageMoves());
  const theirs = Array.from({ length: calls }, () => new ReferencePageMoves());
  const ourIndexes: number[] = [];
  const theirIndexes: number[] = [];
  for (const move of moves) {
    const c = Math.floor(random() * calls);
    ourIndexes.push(ours[c]!.add(...move));
    theirIndexes.push(theirs[c]!.add(...move));
  }
  expect(ourIndexes).toEqual(theirIndexes);
  for (let c = 0; c < calls; c++) {
    expect(ours[c]!.members()).toEqual(theirs[c]!.members());
    expect(recordArgs(ours[c]!, 'p:', 'run')).toEqual(recordArgs(theirs[c]! as unknown as PageMoves, 'p:', 'run'));
  }
}

describe('PageMoves against its previous version', () => {
  it('gives every move the same index and every call the same members, for random calls built side by side', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const moves = Array.from({ length: Math.floor(random() * 300) }, () => randomMove(random));
      compare(moves, 1 + Math.floor(random() * 4), random);
    }
  });

  it('gives a call the same record across the process cache starting over (more distinct moves than it keeps)', () => {
    const random = prng(7);
    // 60,000 distinct moves (past KNOWN_MOVES_KEPT, 50,000), each met twice or more, some calls holding a move from before the cache started over.
    const distinct: Move[] = Array.from({ length: 60_000 }, (_, i) => [`Class${i % 600}`, `from${Math.floor(i / 600)}`, 'to', PLAIN_SHAPE]);
    const moves: Move[] = [];
    for (const move of distinct) {
      moves.push(move);
      if (random() < 0.5) moves.push(distinct[Math.floor(random() * distinct.length)]!);
    }
    compare(moves.concat(distinct.slice(0, 1_000)), 8, random);
  });

  it('hands a caller its own copy of the members', () => {
    const moves = new PageMoves();
    moves.add('A', 'old', 'new');
    moves.members().push('changed');
    expect(moves.members()).toEqual(['["A","old","new"]']);
  });
});
