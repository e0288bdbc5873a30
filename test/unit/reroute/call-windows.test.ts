import { describe, expect, it } from 'vitest';
import { callWindows } from '../../../core/reroute/call-windows.js';

// '~BELOW:SPAN' per Lua call (rerouteQueueJobs-n4.lua): BELOW the jobs between the call's lowest job
// and the tail once the earlier calls removed theirs, SPAN the jobs from its lowest to its highest
// (its own and those the slice keeps among them). Places count from the tail: 0 is the oldest.
describe('callWindows', () => {
  it('front (head first): each call sees the rest of the window below it', () => {
    expect(callWindows(4, 6, [[5, 4], [3, 2], [1, 0]])).toEqual(['~8:2', '~6:2', '~4:2']);
  });

  it('append (tail first): the earlier calls removed what lay below', () => {
    expect(callWindows(4, 6, [[0, 1], [2, 3], [4, 5]])).toEqual(['~4:2', '~4:2', '~4:2']);
  });

  it('jobs the slice keeps count where they lie, inside a call or below it', () => {
    // Places 3 and 1 are kept: they stay between and below the moved jobs.
    expect(callWindows(0, 5, [[4, 2], [0]])).toEqual(['~2:3', '~0:1']);
  });

  it('quarantined jobs come after the moves, wherever they lie in the window', () => {
    // Moves at 5, 3, 2 and 0; parked at 4 and 1, sent last.
    expect(callWindows(1, 6, [[5, 3], [2, 0], [4, 1]])).toEqual(['~4:3', '~1:3', '~1:2']);
  });

  it('gives what counting the window job by job gives, for any split into calls', () => {
    const naive = (below: number, span: number, places: number[][]) => {
      const removed = new Set<number>();
      return places.map((call) => {
        const low = Math.min(...call);
        const high = Math.max(...call);
        let under = below;
        let within = 0;
        for (let p = 0; p <= high; p++) {
          if (removed.has(p)) continue;
          if (p < low) under++;
          else within++;
        }
        for (const p of call) removed.add(p);
        return `~${under}:${within}`;
      });
    };
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    for (let round = 0; round < 200; round++) {
      const span = 1 + random(120);
      // Some places kept (in no call), the rest shuffled into calls of up to 7.
      const order = Array.from({ length: span }, (_, i) => i).filter(() => random(5) > 0);
      for (let i = order.length - 1; i > 0; i--) {
        const j = random(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const calls: number[][] = [];
      for (let i = 0; i < order.length; ) {
        const size = 1 + random(7);
        calls.push(order.slice(i, i + size));
        i += size;
      }
      const below = random(50);
      expect(callWindows(below, span, calls)).toEqual(naive(below, span, calls));
    }
  });
});
