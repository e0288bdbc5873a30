import { describe, expect, it } from 'vitest';
import { combineUnheard, UNHEARD_LISTED, type UnheardQueues } from '../../../core/workflow/unheard-queues.js';

// A run that continued in new executions has one finding per execution: the combined summary
// names the queues of all of them, their jobs added, and the latest census.
describe('combineUnheard', () => {
  const finding = (liveProcesses: number, queues: [string, number][], total = queues.length): UnheardQueues => ({ liveProcesses, queues: queues.map(([queue, jobs]) => ({ queue, jobs })), total });

  it('keeps one side when the other found nothing', () => {
    const one = finding(2, [['a', 3]]);
    expect(combineUnheard(undefined, one)).toBe(one);
    expect(combineUnheard(one, undefined)).toBe(one);
    expect(combineUnheard(undefined, undefined)).toBeUndefined();
  });

  it('adds the jobs of a queue both name, orders by jobs then name, and takes the later census', () => {
    expect(combineUnheard(finding(2, [['b', 3], ['a', 1]]), finding(5, [['a', 4], ['c', 3]]))).toEqual(finding(5, [['a', 5], ['b', 3], ['c', 3]]));
  });

  it('names at most UNHEARD_LISTED queues and keeps a total no smaller than either side knew', () => {
    const many = (from: number, n: number): [string, number][] => Array.from({ length: n }, (_, i) => [`q${String(from + i).padStart(2, '0')}`, 1]);
    const combined = combineUnheard(finding(1, many(0, UNHEARD_LISTED), 40), finding(1, many(UNHEARD_LISTED, 3)))!;
    expect(combined.queues).toHaveLength(UNHEARD_LISTED);
    expect(combined.total).toBe(40);
    expect(combineUnheard(finding(1, many(0, 6)), finding(1, many(6, 6)))!.total).toBe(12);
  });
});
