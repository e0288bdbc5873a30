import type { Redis } from 'ioredis';
import type { ScanBound } from '../../redis/bounded-scan.js';
import { jobsWithinBytes, MAX_ENTRIES_PER_SCAN_CALL, meanBytes, PROBE_JOBS } from '../../redis/page-bytes.js';

/**
 * How many entries of the sorted set `key` match, read in pages by bytes (page-bytes.ts), no read
 * started after `bound.until`; a set not read to its end counts nothing: `unread`, its entries not
 * read (as the set is now). Each page's next read is sent before the page is examined (at most two
 * pages held), so that Redis and the round trip work while this process examines (issue #18). It
 * stops where it would with no read ahead: a page read ahead is examined only if the time is not up
 * once the page before it is, else it is left unexamined and its entries are among those `unread`
 * (a Lambda is killed at its timeout: no work past the time that the count would rely on).
 */
export async function countSetEntries(redis: Redis, key: string, matches: (member: Buffer) => boolean, bound: ScanBound): Promise<{ matching: number } | { unread: number }> {
  const clock = bound.clock ?? Date.now;
  const inTime = () => bound.until === undefined || clock() < bound.until;
  const unread = async (from: number) => ({ unread: Math.max(0, (await redis.zcard(key)) - from) });
  // At most 200 entries a call, as a pass's set reads (page-bytes.ts): every Sidekiq client waits behind it.
  const read = (from: number, want: number) => redis.zrangeBuffer(key, String(from), String(from + want - 1));
  let matching = 0;
  let bytesPerJob: number | undefined;
  let from = 0;
  let want = PROBE_JOBS;
  if (!inTime()) return unread(from);
  let reading = read(from, want);
  for (;;) {
    const page = await reading;
    const last = page.length < want;
    let more = false;
    if (!last) {
      from += page.length;
      bytesPerJob = meanBytes(page, bytesPerJob);
      want = jobsWithinBytes(bytesPerJob, MAX_ENTRIES_PER_SCAN_CALL);
      more = inTime();
      if (more) reading = read(from, want);
    }
    for (const member of page) if (matches(member)) matching++;
    if (last) return { matching };
    if (!more) return unread(from);
    // The time ran out while this page was examined: the page read ahead is not examined (as with
    // no read ahead, whose next read would not be sent now). Its reply still comes, before the
    // ZCARD's behind it on the connection; nothing waits for it, so its failure is not met here (a
    // lost connection fails the ZCARD too).
    if (!inTime()) {
      reading.catch(() => undefined);
      return unread(from);
    }
  }
}
