import type { Redis } from 'ioredis';
import type { ScanBound } from '../../redis/bounded-scan.js';
import { jobsWithinBytes, MAX_ENTRIES_PER_SCAN_CALL, meanBytes, PROBE_JOBS } from '../../redis/page-bytes.js';

/**
 * Most reads of a count outstanding at once. Each page's reads ahead are sent before the page is
 * examined, so that the round trips overlap the examination and each other (issue #18: one read
 * at a time waited ~0.6 ms a page at 0.5 ms of round trip, 1,000 pages on the bench's 200,000 set
 * entries). Each is still at most MAX_ENTRIES_PER_SCAN_CALL entries; Redis runs the few a client
 * sent together one after the other, as it runs a page's pipelined Lua calls.
 */
export const COUNT_READS_AHEAD = 4;

/**
 * How many entries of the sorted set `key` match, read in pages by bytes (page-bytes.ts), no read
 * started after `bound.until`; a set not read to its end counts nothing: `unread`, its entries not
 * read (as the set is now). Up to COUNT_READS_AHEAD reads are outstanding: the pages after the one
 * examined are sent before it is examined, each from where the one before it ends (a page shorter
 * than asked is the set's end; reads sent past it come back empty and are not looked at), so that
 * Redis and the round trips work while this process examines (issue #18). It stops where it would
 * with no read ahead: a page read ahead is examined only if the time is not up once the page
 * before it is, else it is left unexamined and its entries are among those `unread` (a Lambda is
 * killed at its timeout: no work past the time that the count would rely on).
 */
export async function countSetEntries(redis: Redis, key: string, matches: (member: Buffer) => boolean, bound: ScanBound): Promise<{ matching: number } | { unread: number }> {
  const clock = bound.clock ?? Date.now;
  const inTime = () => bound.until === undefined || clock() < bound.until;
  const unread = async (from: number) => ({ unread: Math.max(0, (await redis.zcard(key)) - from) });
  // At most 200 entries a call, as a pass's set reads (page-bytes.ts): every Sidekiq client waits behind it.
  const reads: { want: number; reply: Promise<Buffer[]> }[] = [];
  let sentTo = 0;
  let bytesPerJob: number | undefined;
  const send = (want: number) => {
    reads.push({ want, reply: redis.zrangeBuffer(key, String(sentTo), String(sentTo + want - 1)) });
    sentTo += want;
  };
  // Replies nobody will look at (the count ended before them): their failure is not met here (a
  // lost connection fails the ZCARD behind them too).
  const dropRest = () => {
    for (const r of reads.splice(0)) r.reply.catch(() => undefined);
  };
  let matching = 0;
  let from = 0;
  if (!inTime()) return unread(from);
  // The first read is a few entries: their size sets how many the next reads ask.
  send(PROBE_JOBS);
  try {
    for (;;) {
      const { want, reply } = reads.shift()!;
      const page = await reply;
      const last = page.length < want;
      if (!last) {
        from += page.length;
        bytesPerJob = meanBytes(page, bytesPerJob);
        while (reads.length < COUNT_READS_AHEAD && inTime()) send(jobsWithinBytes(bytesPerJob, MAX_ENTRIES_PER_SCAN_CALL));
      }
      for (const member of page) if (matches(member)) matching++;
      if (last) {
        dropRest();
        return { matching };
      }
      if (reads.length === 0) return unread(from);
      // The time ran out while this page was examined: the pages read ahead are not examined (as
      // with no read ahead, whose next read would not be sent now).
      if (!inTime()) {
        dropRest();
        return unread(from);
      }
    }
  } catch (error) {
    // A read failed (or the examination threw): the reads still outstanding fail or not, unheard.
    dropRest();
    throw error;
  }
}
