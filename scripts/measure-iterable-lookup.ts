/**
 * What carrying Sidekiq 7.3+ iterable jobs' states (`it-<jid>`) with their jobs would add to a
 * transfer's Lua calls, measured before building it (docs/guarantees-and-limits.md, "Sidekiq 7.3+
 * iterable jobs"). Nothing in a payload says a job is iterable, so the claim on the source would
 * look up `it-<jid>` for every job it claims, inside the call it already makes (no round trip
 * added), and the copy on the target would write each state found beside its job.
 *
 * Claims a queue of `jobs` payloads (~700 B, as measure-transfer-claims.ts) a slice of
 * MAX_JOBS_PER_CLAIM at a time with the real claim (claimQueueJobs-14 in calls of
 * MAX_JOBS_PER_CLAIM_CALL: claim-calls.ts), and after each slice's claim, before its acknowledge,
 * runs over the slice's in-flight list one stand-in for the lookup the claim would do, then:
 *
 *   control  LRANGE of the in-flight list alone (what the claim has in hand already)
 *   cjson    + the jid of each payload (cjson.decode, under pcall) and EXISTS <prefix>it-<jid>
 *   match    + the jid by string.match('"jid":"…"') (wrong for an argument hash with a jid key
 *            ahead of the top-level one: Sidekiq writes `args` before `jid`) and EXISTS
 *   plain    + the jid after the last '"jid":"' (string.find, plain: no pattern) and EXISTS (Sidekiq
 *            writes `jid` after `args`; wrong for a later key holding a hash with a jid key)
 *   find     plain's jid alone, no EXISTS (so EXISTS costs plain − find)
 *   read     cjson + HGETALL and PTTL of each state found (every job has one, in the second pass)
 *
 * and, in the second pass, on a second server standing for the target, the write a copy would add
 * for each job it writes: EXISTS <prefix>it-<jid>, then HSET of the fields and PEXPIRE, as one
 * call a slice. Prints Redis's own execution time (SLOWLOG, every call logged) per kind: total,
 * per call (median, max) and per job; the lookup's cost is (kind − control).
 *
 *   npx tsx scripts/measure-iterable-lookup.ts [jobs=100000] [port=43001]
 *
 * Starts its own redis-servers on `port` and `port + 1` and stops them.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { acknowledgeQueueJobs } from '../core/transfer/acknowledge.js';
import { claimQueueSlice } from '../core/transfer/claim-calls.js';
import { newBatchId, parseBatch } from '../core/transfer/ledger-id.js';
import { MAX_JOBS_PER_CLAIM } from '../core/transfer/transfer-options.js';

const jobs = Number(process.argv[2] ?? 100_000);
const port = Number(process.argv[3] ?? 43_001);
const jidOf = (i: number) => i.toString(16).padStart(24, '0');
const payload = (i: number) =>
  Buffer.from(JSON.stringify({ retry: 3, queue: 'default', args: [i, 'x'.repeat(560)], class: 'SomeIterableJob', jid: jidOf(i), created_at: 1.7e9, enqueued_at: 1.7e9 }));
const queueKeys = { queue: 'queue:q', inflight: 'inflight:q', batch: 'batch:q', chain: 'chain:q', stopMarker: 'stopped', lock: 'lock', originals: 'originals:q', inflightIndex: 'inflight-keys' };

const LOOKUPS = {
  control: `local held = redis.call('LRANGE', KEYS[1], 0, -1) return #held`,
  cjson: `local held = redis.call('LRANGE', KEYS[1], 0, -1)
local found = 0
for i = 1, #held do
  local ok, job = pcall(cjson.decode, held[i])
  local jid = ok and type(job) == 'table' and job.jid
  if type(jid) == 'string' and redis.call('EXISTS', ARGV[1] .. 'it-' .. jid) == 1 then found = found + 1 end
end
return found`,
  match: `local held = redis.call('LRANGE', KEYS[1], 0, -1)
local found = 0
for i = 1, #held do
  local jid = string.match(held[i], '"jid":"([^"]*)"')
  if jid and redis.call('EXISTS', ARGV[1] .. 'it-' .. jid) == 1 then found = found + 1 end
end
return found`,
  plain: `local held = redis.call('LRANGE', KEYS[1], 0, -1)
local found = 0
for i = 1, #held do
  local payload, at, from = held[i], nil, 1
  while true do
    local s, e = string.find(payload, '"jid":"', from, true)
    if not s then break end
    at, from = e + 1, e + 1
  end
  local jid = at and string.sub(payload, at, (string.find(payload, '"', at, true) or 0) - 1)
  if jid and redis.call('EXISTS', ARGV[1] .. 'it-' .. jid) == 1 then found = found + 1 end
end
return found`,
  find: `local held = redis.call('LRANGE', KEYS[1], 0, -1)
local found = 0
for i = 1, #held do
  local payload, at, from = held[i], nil, 1
  while true do
    local s, e = string.find(payload, '"jid":"', from, true)
    if not s then break end
    at, from = e + 1, e + 1
  end
  local jid = at and string.sub(payload, at, (string.find(payload, '"', at, true) or 0) - 1)
  if jid then found = found + #jid end
end
return found`,
  read: `local held = redis.call('LRANGE', KEYS[1], 0, -1)
local states = {}
for i = 1, #held do
  local ok, job = pcall(cjson.decode, held[i])
  local jid = ok and type(job) == 'table' and job.jid
  if type(jid) == 'string' then
    local key = ARGV[1] .. 'it-' .. jid
    if redis.call('EXISTS', key) == 1 then
      states[#states + 1] = { jid, redis.call('PTTL', key), redis.call('HGETALL', key) }
    end
  end
end
return states`,
} as const;
// The target's side: per job, jid, PTTL (-1: none), field count, fields and values.
const WRITE = `local written, i = 0, 1
while i <= #ARGV do
  local key, pttl, n = KEYS[1] .. 'it-' .. ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, unpack(ARGV, i + 3, i + 2 + 2 * n))
    if pttl > 0 then redis.call('PEXPIRE', key, pttl) end
    written = written + 1
  end
  i = i + 3 + 2 * n
end
return written`;

async function startServer(p: number): Promise<() => Promise<void>> {
  const child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--slowlog-log-slower-than', '0', '--slowlog-max-len', '1000000'], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const probe = new Redis(p, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return async () => {
        child.kill('SIGTERM');
        await new Promise((done) => child.once('exit', done));
      };
    } catch {
      probe.disconnect();
      await sleep(100);
    }
  }
  child.kill('SIGTERM');
  throw new Error(`redis-server on ${p} did not start`);
}

/** Logged durations (µs) of EVALSHA calls by SHA since the last reset. */
async function logged(redis: Redis): Promise<Map<string, number[]>> {
  const entries = (await redis.slowlog('GET', '-1')) as [number, number, number, (string | Buffer)[]][];
  const bySha = new Map<string, number[]>();
  for (const e of entries) {
    if (String(e[3]?.[0] ?? '').toUpperCase() !== 'EVALSHA') continue;
    const sha = String(e[3]![1]);
    bySha.set(sha, [...(bySha.get(sha) ?? []), Number(e[2])]);
  }
  return bySha;
}

function show(what: string, d: number[] = [], n: number): string {
  d.sort((a, b) => a - b);
  const total = d.reduce((a, b) => a + b, 0);
  return `${what.padEnd(8)} ${d.length} calls, total ${(total / 1000).toFixed(1)} ms, median ${d[Math.floor(d.length / 2)] ?? 0} µs, max ${d.at(-1) ?? 0} µs, ${(total / n).toFixed(2)} µs a job`;
}

const stopSource = await startServer(port);
const stopTarget = await startServer(port + 1);
const source = new Redis(port, '127.0.0.1', { protocol: 2 });
const target = new Redis(port + 1, '127.0.0.1', { protocol: 2 });
try {
  const shas = Object.fromEntries(await Promise.all(Object.entries(LOOKUPS).map(async ([k, lua]) => [k, String(await source.script('LOAD', lua))])));
  const writeSha = String(await target.script('LOAD', WRITE));
  console.log(`${jobs.toLocaleString('en')} jobs of ~${payload(0).length} B, slices of ${MAX_JOBS_PER_CLAIM}; load average ${loadavg()[0]!.toFixed(2)} at the start`);
  for (const withStates of [false, true]) {
    await source.flushall();
    await target.flushall();
    for (let i = 0; i < jobs; i += 1000) await source.lpush('queue:q', ...Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => payload(i + k)));
    if (withStates) {
      for (let i = 0; i < jobs; i += 1000) {
        const p = source.pipeline();
        for (let k = i; k < Math.min(jobs, i + 1000); k++) {
          p.hset(`it-${jidOf(k)}`, 'ex', '3', 'c', '"cursor-1500"', 'rt', '12.5');
          p.expire(`it-${jidOf(k)}`, 30 * 86_400);
        }
        await p.exec();
      }
    }
    const kinds = withStates ? (['control', 'cjson', 'read'] as const) : (['control', 'cjson', 'match', 'plain', 'find'] as const);
    await source.slowlog('RESET');
    await target.slowlog('RESET');
    let claimSha = '';
    for (let left = jobs; left > 0; ) {
      const claim = await claimQueueSlice(source, queueKeys, { want: Math.min(MAX_JOBS_PER_CLAIM, left), newBatch: newBatchId(), runId: 'measure', newest: true, remaining: left });
      for (const kind of kinds) {
        const reply = await source.evalsha(shas[kind]!, 1, queueKeys.inflight, '');
        if (kind === 'read') {
          const args: (string | Buffer)[] = [];
          for (const [jid, pttl, fields] of reply as [string, number, string[]][]) args.push(jid, String(pttl), String(fields.length / 2), ...fields);
          await target.evalsha(writeSha, 1, '', ...args);
        }
      }
      const { id, base } = parseBatch(claim.stored);
      await acknowledgeQueueJobs(source, queueKeys.inflight, queueKeys.batch, id, base + claim.held.length, queueKeys.inflightIndex);
      left -= claim.claimed;
    }
    const s = await logged(source);
    // The claim's own script: the EVALSHA logged most that is none of ours (its calls per slice, acknowledge once).
    for (const [sha, d] of s) if (!Object.values(shas).includes(sha) && d.length > (s.get(claimSha)?.length ?? 0)) claimSha = sha;
    console.log(withStates ? `every job has a state (HSET ex c rt, EXPIRE 30 days):` : `no job has a state:`);
    console.log(`  source: ${show('claim', s.get(claimSha), jobs)}`);
    for (const kind of kinds) console.log(`  source: ${show(kind, s.get(shas[kind]!), jobs)}`);
    if (withStates) {
      const t = await logged(target);
      console.log(`  target: ${show('write', t.get(writeSha), jobs)}; states there ${await target.dbsize()}`);
    }
  }
  console.log(`load average ${loadavg()[0]!.toFixed(2)} at the end`);
} finally {
  source.disconnect();
  target.disconnect();
  await stopSource();
  await stopTarget();
}
