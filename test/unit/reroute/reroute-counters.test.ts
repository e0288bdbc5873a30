// The counters every page returns and every run sums: exact sums, and the bounds on what a
// report carries (MAX_CLASSES classes, MAX_SAMPLES samples) whatever the run's size.
import { describe, expect, it } from 'vitest';
import { escapeGlob } from '../../../core/reroute/discover-queues.js';
import {
  addCounters,
  addSample,
  emptyCounters,
  MAX_CLASSES,
  MAX_SAMPLES,
  tallyClass,
  topUnmappedClasses,
  type RerouteCounters,
} from '../../../core/reroute/reroute-counters.js';

const SCALARS = ['scanned', 'moved', 'alreadyRouted', 'unmapped', 'unparsable', 'vanished', 'conflicts', 'quarantined', 'quarantinedUnparsable', 'keptOnLiveQueues', 'arrived', 'uniqueLocked'] as const;

/** Counters whose scalars are `base`, `base + 1`, … in SCALARS order. */
function counters(base: number): RerouteCounters {
  const c = emptyCounters();
  SCALARS.forEach((k, i) => (c[k] = base + i));
  return c;
}

describe('emptyCounters', () => {
  it('starts every count at zero, with nothing tallied', () => {
    expect(emptyCounters()).toEqual({
      ...Object.fromEntries(SCALARS.map((k) => [k, 0])),
      movedTo: {},
      unmappedClasses: {},
      quarantinedClasses: {},
      samples: { unmapped: [], unparsable: [] },
    });
  });
});

describe('addCounters', () => {
  it('adds every scalar, every destination and every class into the first, and returns it', () => {
    const into = counters(1);
    into.movedTo = { a: 1 };
    into.unmappedClasses = { X: 2 };
    into.quarantinedClasses = { Q: 1 };
    const more = counters(100);
    more.movedTo = { a: 10, b: 5 };
    more.unmappedClasses = { X: 3, Y: 1 };
    more.quarantinedClasses = { Q: 2, R: 7 };

    const sum = addCounters(into, more);

    expect(sum).toBe(into);
    expect(Object.fromEntries(SCALARS.map((k) => [k, sum[k]]))).toEqual(Object.fromEntries(SCALARS.map((k, i) => [k, 101 + 2 * i])));
    expect(sum.movedTo).toEqual({ a: 11, b: 5 });
    expect(sum.unmappedClasses).toEqual({ X: 5, Y: 1 });
    expect(sum.quarantinedClasses).toEqual({ Q: 3, R: 7 });
  });

  it('adds counters an older version stored without the newer fields as zeros', () => {
    const old = counters(1) as Partial<RerouteCounters>;
    delete old.quarantinedClasses;
    delete old.uniqueLocked;
    delete old.keptOnLiveQueues;
    const more = counters(10) as Partial<RerouteCounters>;
    delete more.quarantinedClasses;
    delete more.arrived;

    const sum = addCounters(old as RerouteCounters, more as RerouteCounters);

    expect(sum.quarantinedClasses).toEqual({});
    expect(sum.uniqueLocked).toBe(0 + 0 + 10 + SCALARS.indexOf('uniqueLocked'));
    expect(sum.keptOnLiveQueues).toBe(10 + SCALARS.indexOf('keptOnLiveQueues'));
    expect(sum.arrived).toBe(1 + SCALARS.indexOf('arrived'));
  });

  it('keeps the samples of both, up to MAX_SAMPLES of each kind, the first ones', () => {
    const into = emptyCounters();
    const more = emptyCounters();
    const sample = (n: number) => ({ jid: `j${n}`, className: 'C', reason: 'r' });
    addSample(into, 'unmapped', sample(0));
    for (let n = 1; n <= 7; n++) addSample(more, 'unmapped', sample(n));
    addSample(more, 'unparsable', sample(99));

    addCounters(into, more);

    expect(more.samples.unmapped.map((s) => s.jid)).toEqual(['j1', 'j2', 'j3', 'j4', 'j5']);
    expect(into.samples.unmapped.map((s) => s.jid)).toEqual(['j0', 'j1', 'j2', 'j3', 'j4']);
    expect(into.samples.unparsable.map((s) => s.jid)).toEqual(['j99']);
    expect(MAX_SAMPLES).toBe(5);
  });
});

describe('tallyClass', () => {
  it('counts up to MAX_CLASSES classes by name, the rest together, and keeps counting the named ones', () => {
    const c = emptyCounters();
    for (let i = 0; i < MAX_CLASSES; i++) tallyClass(c, `C${i}`);
    tallyClass(c, 'Late', 2);
    tallyClass(c, 'Later');
    tallyClass(c, 'C0', 4);

    expect(Object.keys(c.unmappedClasses)).toHaveLength(MAX_CLASSES + 1);
    expect(c.unmappedClasses['(other classes)']).toBe(3);
    expect(c.unmappedClasses['C0']).toBe(5);
    expect(c.unmappedClasses['C49']).toBe(1);
    expect(c.unmappedClasses['Late']).toBeUndefined();
    expect(MAX_CLASSES).toBe(50);
  });

  it('tallies quarantined classes apart, creating the tally an older state lacks', () => {
    const c = emptyCounters() as Partial<RerouteCounters>;
    delete c.quarantinedClasses;

    tallyClass(c as RerouteCounters, 'Q', 3, 'quarantinedClasses');

    expect(c.quarantinedClasses).toEqual({ Q: 3 });
    expect(c.unmappedClasses).toEqual({});
  });
});

describe('topUnmappedClasses', () => {
  it('lists the most frequent first, ties by name, at most n', () => {
    const c = emptyCounters();
    c.unmappedClasses = { b: 2, a: 2, c: 9, d: 1, e: 2 };
    c.quarantinedClasses = { q: 1 };

    expect(topUnmappedClasses(c)).toEqual([['c', 9], ['a', 2], ['b', 2], ['e', 2], ['d', 1]]);
    expect(topUnmappedClasses(c, 3)).toEqual([['c', 9], ['a', 2], ['b', 2]]);
    expect(topUnmappedClasses(c, 10, 'quarantinedClasses')).toEqual([['q', 1]]);
  });

  it('lists ten by default, and nothing for counters without the tally', () => {
    const c = emptyCounters();
    for (let i = 0; i < 12; i++) c.unmappedClasses[`C${String(i).padStart(2, '0')}`] = 100 - i;
    const old = emptyCounters() as Partial<RerouteCounters>;
    delete old.quarantinedClasses;

    expect(topUnmappedClasses(c).map(([cls]) => cls)).toEqual(['C00', 'C01', 'C02', 'C03', 'C04', 'C05', 'C06', 'C07', 'C08', 'C09']);
    expect(topUnmappedClasses(old as RerouteCounters, 10, 'quarantinedClasses')).toEqual([]);
  });
});

describe('escapeGlob', () => {
  it('escapes exactly the characters SCAN MATCH gives a meaning, so that a prefix matches only itself', () => {
    expect(escapeGlob('a*b?c[d]e\\f:g-^h')).toBe('a\\*b\\?c\\[d\\]e\\\\f:g-^h');
    expect(escapeGlob('**')).toBe('\\*\\*');
    expect(escapeGlob('')).toBe('');
  });
});
