import { describe, expect, it } from 'vitest';
import { RateLimiter, rateLimitedSliceSize } from '../../../core/transfer/rate-limiter.js';

/** A limiter on a fake clock: sleeping advances it, and every sleep is recorded. */
function limiter(jobsPerSecond: number | undefined) {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const l = new RateLimiter(
    jobsPerSecond,
    () => now,
    (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  );
  return { l, sleeps, now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('the rate limiter', () => {
  it('waits until the jobs moved so far could have been moved at the rate', async () => {
    const { l, sleeps, advance } = limiter(10);

    await l.after(5); // due at +500 ms
    advance(100);
    await l.after(5); // due at +1000 ms, now +600 ms

    expect(sleeps).toEqual([500, 400]);
  });

  it('never sleeps past the deadline it is given, and not at all once the deadline has passed', async () => {
    const { l, sleeps, now } = limiter(1);
    const deadline = now() + 2_000;

    await l.after(100, deadline); // due in 100 s: sleeps only to the deadline
    await l.after(1, deadline); // deadline reached: no sleep

    expect(sleeps).toEqual([2_000]);
    expect(now()).toBe(deadline);
  });

  it('sleeps whole milliseconds, rounded up, so that it never wakes before the rate allows', async () => {
    const { l, sleeps } = limiter(3);
    await l.after(1); // due at +333.33 ms
    expect(sleeps).toEqual([334]);
  });

  it('does nothing without a rate', async () => {
    const { l, sleeps } = limiter(undefined);
    await l.after(1_000_000);
    expect(sleeps).toEqual([]);
  });

  it('sizes a slice so that the wait after it fits in the budget (at least one job, at most the page size)', () => {
    expect(rateLimitedSliceSize(500, undefined, 290_000)).toBe(500);
    expect(rateLimitedSliceSize(500, 50, 290_000)).toBe(500);
    expect(rateLimitedSliceSize(500, 1, 290_000)).toBe(290);
    expect(rateLimitedSliceSize(500, 2, 2_000)).toBe(4);
    expect(rateLimitedSliceSize(500, 0.01, 290_000)).toBe(2);
    expect(rateLimitedSliceSize(500, 1, 0)).toBe(1);
    // No rate (absent, zero or negative): the page size.
    expect(rateLimitedSliceSize(500, 0, 290_000)).toBe(500);
    expect(rateLimitedSliceSize(500, -5, 290_000)).toBe(500);
  });
});

describe('a slice that fits', () => {
  it('fits when moving it by the deadline keeps the rate, and not otherwise', async () => {
    const { l, now } = limiter(2);
    const deadline = now() + 2_000;

    expect(l.fits(4, deadline)).toBe(true);
    await l.after(3, deadline); // 3 jobs: due at +1.5 s
    expect(l.fits(1, deadline)).toBe(true); // 4 jobs by +2 s
    expect(l.fits(3, deadline)).toBe(false); // 6 jobs by +3 s: past the deadline
    expect(limiter(undefined).l.fits(1_000_000, 0)).toBe(true);
    // Without a positive rate everything fits, even past a deadline.
    expect(limiter(0).l.fits(1, 0)).toBe(true);
    expect(limiter(-1).l.fits(1, 0)).toBe(true);
  });
});
