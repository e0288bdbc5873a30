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
 * examined are sent before it is examined, each from the last entry of the one before it (a page
 * shorter than asked is the set's end; reads sent past it are not looked at), so that Redis and
 * the round trips work while this process examines (issue #18). It stops where it would with no
 * read ahead: a page read ahead is examined only if the time is not up once the page before it
 * is, else it is left unexamined and its entries are among those `unread` (a Lambda is killed at
 * its timeout: no work past the time that the count would rely on).
 *
 * Why each read starts on the last entry of the one before (by rank) and is checked: Sidekiq's
 * poller removes due entries and its retry handler and scheduler add entries while the count
 * reads, between its calls, and a rank counts whatever is there when its call runs: an entry
 * added below the next read's rank would have the entry at the page boundary counted twice, one
 * removed below it would skip one. A reply (one call: contiguous in the set as it ran) is used
 * only if its first entry sorts at or before the last entry counted (score, then bytes, as Redis
 * orders them), and only its entries that sort after that one are counted: every entry present
 * all along is then counted once, and one added or removed during the count at most once. A reply
 * that starts after it (entries removed below: a gap is possible) is dropped with every read sent
 * after it, and the count goes on from the rank where the last entry's score begins now (ZCOUNT),
 * one entry before it, checked the same way.
 */
export async function countSetEntries(redis: Redis, key: string, matches: (member: Buffer) => boolean, bound: ScanBound): Promise<{ matching: number } | { unread: number }> {
  const clock = bound.clock ?? Date.now;
  const inTime = () => bound.until === undefined || clock() < bound.until;
  let examined = 0;
  const unread = async () => ({ unread: Math.max(0, (await redis.zcard(key)) - examined) });
  // Each read's reply is settled into a value the moment the read is sent: a read sent ahead may
  // fail while the count waits on an earlier one (a lost connection, a process stopped before a
  // call), and the count may end before it looks at it (the set's end, the time up, a failure of
  // an earlier read or of the examination): no failure of a read is ever left unhandled, whatever
  // way the count ends. A read that is looked at and failed throws its own error, as it came.
  let reads: { from: number; want: number; reply: Promise<Settled> }[] = [];
  let sentTo = 0;
  let bytesPerJob: number | undefined;
  const send = (asked: number) => {
    // Two at least: a read after the first starts on an entry already read (1 MiB pages of entries over 512 KiB).
    const want = sentTo === 0 ? asked : Math.max(2, asked);
    // At most 200 entries a call, as a pass's set reads (page-bytes.ts): every Sidekiq client waits behind it.
    // A client that throws as it is asked (not in its reply) throws here, out of the count: the
    // reads already sent have their handler. Each after the first starts on the last entry of the one before.
    const from = sentTo === 0 ? 0 : sentTo - 1;
    const reply = redis.zrangeBuffer(key, String(from), String(from + want - 1), 'WITHSCORES').then(
      (page): Settled => ({ page }),
      (error: unknown): Settled => ({ error }),
    );
    reads.push({ from, want, reply });
    sentTo = from + want;
  };
  let matching = 0;
  /** The last entry counted (member, score): a reply counts only what sorts after it. */
  let last: { member: Buffer; score: number } | undefined;
  if (!inTime()) return unread();
  // The first read is a few entries: their size sets how many the next reads ask.
  send(PROBE_JOBS);
  for (;;) {
    const { from, want, reply } = reads.shift()!;
    const settled = await reply;
    if ('error' in settled) throw settled.error;
    const flat = settled.page;
    const size = flat.length / 2;
    // From rank 0 nothing can be before it; else its first entry must be at or before the last counted.
    if (from > 0 && (size === 0 || last === undefined || sortsAfter(flat[0]!, scoreOf(flat[1]!), last))) {
      // Entries removed below it (or it past the set's end, shrunk): what it holds may leave a gap.
      // The reads sent after it are not looked at (their replies come, or fail, unheard).
      reads = [];
      if (!inTime()) return unread();
      const below = last === undefined ? 0 : await redis.zcount(key, '-inf', `(${formatScore(last.score)}`);
      // From `below - 1`, the entry before the last's score (from rank 0 when there is none).
      sentTo = below;
      send(jobsWithinBytes(bytesPerJob, MAX_ENTRIES_PER_SCAN_CALL));
      continue;
    }
    const ended = size < want;
    const page: Buffer[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const member = flat[i]!;
      const score = scoreOf(flat[i + 1]!);
      if (last !== undefined && !sortsAfter(member, score, last)) continue;
      page.push(member);
      last = { member, score };
    }
    if (!ended) {
      bytesPerJob = meanBytes(flat.filter((_, i) => i % 2 === 0), bytesPerJob);
      while (reads.length < COUNT_READS_AHEAD && inTime()) send(jobsWithinBytes(bytesPerJob, MAX_ENTRIES_PER_SCAN_CALL));
    }
    for (const member of page) if (matches(member)) matching++;
    examined += page.length;
    // The reads past the set's end come back empty, or fail: not looked at.
    if (ended) return { matching };
    if (reads.length === 0) return unread();
    // The time ran out while this page was examined: the pages read ahead are not examined (as
    // with no read ahead, whose next read would not be sent now); their replies come, or fail, unheard.
    if (!inTime()) return unread();
  }
}

/** Redis's text of a score as a number ("inf" and "-inf" included). */
function scoreOf(text: Buffer): number {
  const s = text.toString();
  return s === 'inf' || s === '+inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
}

function formatScore(score: number): string {
  return score === Infinity ? '+inf' : score === -Infinity ? '-inf' : String(score);
}

/** Whether (member, score) sorts after `than` in Redis's order: by score, equal scores by their bytes. */
function sortsAfter(member: Buffer, score: number, than: { member: Buffer; score: number }): boolean {
  return score > than.score || (score === than.score && Buffer.compare(member, than.member) > 0);
}

/** A read's reply, or its failure: what a read sent ahead settles to, handled from the start. */
type Settled = { readonly page: Buffer[] } | { readonly error: unknown };
