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
  // Each read's reply is settled into a value the moment the read is sent: a read sent ahead may
  // fail while the count waits on an earlier one (a lost connection, a process stopped before a
  // call), and the count may end before it looks at it (the set's end, the time up, a failure of
  // an earlier read or of the examination): no failure of a read is ever left unhandled, whatever
  // way the count ends. A read that is looked at and failed throws its own error, as it came.
  const reads: { want: number; reply: Promise<Settled> }[] = [];
  let sentTo = 0;
  let bytesPerJob: number | undefined;
  const send = (want: number) => {
    // At most 200 entries a call, as a pass's set reads (page-bytes.ts): every Sidekiq client waits behind it.
    // A client that throws as it is asked (not in its reply) throws here, out of the count: the
    // reads already sent have their handler.
    const reply = redis.zrangeBuffer(key, String(sentTo), String(sentTo + want - 1)).then(
      (page): Settled => ({ page }),
      (error: unknown): Settled => ({ error }),
    );
    reads.push({ want, reply });
    sentTo += want;
  };
  let matching = 0;
  let from = 0;
  if (!inTime()) return unread(from);
  // The first read is a few entries: their size sets how many the next reads ask.
  send(PROBE_JOBS);
  for (;;) {
    const { want, reply } = reads.shift()!;
    const settled = await reply;
    if ('error' in settled) throw settled.error;
    const { page } = settled;
    const last = page.length < want;
    if (!last) {
      from += page.length;
      bytesPerJob = meanBytes(page, bytesPerJob);
      while (reads.length < COUNT_READS_AHEAD && inTime()) send(jobsWithinBytes(bytesPerJob, MAX_ENTRIES_PER_SCAN_CALL));
    }
    for (const member of page) if (matches(member)) matching++;
    // The reads past the set's end come back empty, or fail: not looked at.
    if (last) return { matching };
    if (reads.length === 0) return unread(from);
    // The time ran out while this page was examined: the pages read ahead are not examined (as
    // with no read ahead, whose next read would not be sent now); their replies come, or fail, unheard.
    if (!inTime()) return unread(from);
  }
}

/** A read's reply, or its failure: what a read sent ahead settles to, handled from the start. */
type Settled = { readonly page: Buffer[] } | { readonly error: unknown };
