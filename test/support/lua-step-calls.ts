import type { Redis } from 'ioredis';
import type { LuaCall } from '../../core/redis/lua-script.js';
import { sidekiqPayload } from './sidekiq-jobs.js';

// One call of each Lua step that writes (core/redis/lua/), each on keys seed() fills so that the
// call would write: test/redis/lua-guards.test.ts breaks a key's type under each, and
// test/redis/lua-acl-guards.test.ts takes each command away from the caller's user. Every script
// of core/redis/lua/ has a case here (lua-acl-guards.test.ts checks it).

// One payload per i for the whole file (sidekiqPayload gives each a new jid): a call finds the job seed() put.
const payloads = new Map<number, string>();
export const job = (i: number): string => {
  if (!payloads.has(i)) payloads.set(i, sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  return payloads.get(i)!;
};
export const rewritten = (i: number) => job(i).replace('"queue":"old"', '"queue":"new"');

/** Seeds the keys a call reads, so that it would write if every type were right. */
export async function seed(redis: Redis): Promise<void> {
  await redis.rpush('queue:old', job(1), job(2));
  await redis.zadd('schedule', '1795459303.5', job(3));
  await redis.rpush('inflight:q', job(4));
  await redis.set('batch:q', 'b1');
  await redis.zadd('inflight:s', '1795459303.5', job(5));
  await redis.set('batch:s', 'b2');
  await redis.set('seal:s', 't:1');
  // A source's index of in-flight keys naming one gone (forgetGoneInflightKeys-1 takes it out) and one there
  // (acknowledgeQueueBatch-4 takes inflight:q out with the list it deletes).
  await redis.sadd('inflight-keys', 'inflight:gone', 'inflight:q');
  // An older version's queue ledger, of ids (copyJobsToLists-n4.lua keeps writing it by id).
  await redis.sadd('ledger:ids', 'b0:9');
  await redis.hset('cron:h', 'message', 'm');
  // A definition without a message (rewriteCronQueueField-1 rewrites its queue field).
  await redis.hset('cron:k', 'klass', 'A', 'queue', 'old');
  // The run's lock, held by the plan the run's bookkeeping steps below name (run, 1000, arn).
  await redis.set('lock', JSON.stringify({ runId: 'run', plannedAt: 1000, plannedBy: 'arn' }));
  // The first part of that plan's list (appendRunPlan-3 goes on after it).
  await redis.rpush('items', '{"kind":"set","name":"retry"}');
  // An append transfer pass's count and mark, the newest original (claimQueueJobs-14.lua KEYS[7]).
  await redis.set('originals:mark', `2 \n${job(1)}`);
  // A queue re-route pass's record, which its end moves into the run's page receipts.
  await redis.set('originals:end', 'record');
  // A pass record an earlier start of the run left (generation 999), which its last summary deletes.
  await redis.set('originals:older', 't1 1 2 999\n0 2\n{}');
  // A transfer pass's count of an earlier start (forgetOlderTransferPasses-n2.lua deletes it).
  await redis.set('originals:count', '3 999 arn:A');
  // What the bookkeeping steps below remove: an execution, a set's conflicts, a page's attempts.
  await redis.hset('executions', 'root', '1');
  await redis.sadd('conflicts:s', 'c');
  await redis.hset('receipts', 'item:input', '2');
}

export const cases: [script: string, call: LuaCall, keysToBreak: string[]][] = [
  ['rerouteSetEntries-n6', { keys: ['schedule', 'rewritten:s', 'moves'], args: ['1', '60', '["A","old","new"]', job(3), rewritten(3), 'digest', '1'] }, ['schedule', 'rewritten:s', 'moves']],
  ['rerouteQueueJobs-n4', { keys: ['queue:old', 'queues', 'queue:new', 'moves'], args: ['RPUSH', '~0:2', '1', 'new', '1', '60', '["A","old","new"]', job(1), rewritten(1), '1', '1'] }, ['queue:old', 'queues', 'queue:new', 'moves']],
  // With the pass's record (core/reroute/pass-record.ts), the run lock and the receipts, the last keys, its fields after the record's members.
  [
    'rerouteQueueJobs-n4',
    { keys: ['queue:old', 'queues', 'queue:new', 'moves', 'originals:old', 'lock', 'receipts'], args: ['RPUSH', '~0:2', '1', 'new', '1', '60', '["A","old","new"]', 't', '1', '1', '1000 arn', '{}', 'run', 'pass-end:queue:old', job(1), rewritten(1), '1', '1'] },
    ['queue:old', 'queues', 'queue:new', 'moves', 'originals:old', 'lock', 'receipts'],
  ],
  ['claimQueueJobs-14', { keys: ['queue:old', 'inflight:new', 'batch:new', 'chain:new', 'stopped', 'lock', 'originals:new', 'inflight-keys'], args: [2, 'newest', 'b9', 2, 't', 1, '', 60000, 'run', '', '', '', 'start'] }, ['queue:old', 'inflight:new', 'batch:new', 'chain:new', 'lock', 'originals:new', 'inflight-keys']],
  // An append pass: its first call takes the mark; a later one looks for it (LPOS) before it claims.
  ['claimQueueJobs-14', { keys: ['queue:old', 'inflight:new', 'batch:new', 'chain:new', 'stopped', 'lock', 'originals:new', 'inflight-keys'], args: [2, 'oldest', 'b9', 2, 't', 1, '', 60000, 'run', '', '', '', 'start'] }, ['queue:old', 'inflight:new', 'batch:new', 'chain:new', 'lock', 'originals:new', 'inflight-keys']],
  ['claimQueueJobs-14', { keys: ['queue:old', 'inflight:new', 'batch:new', 'chain:new', 'stopped', 'lock', 'originals:mark', 'inflight-keys'], args: [2, 'oldest', 'b9', 2, 't', 1, '', 60000, 'run', '', '', '', 'kept'] }, ['queue:old', 'inflight:new', 'batch:new', 'chain:new', 'lock', 'originals:mark', 'inflight-keys']],
  [
    'claimSetEntries-16',
    { keys: ['schedule', 'inflight:new', 'batch:new', 'conflicts:new', 'chain:new', 'stopped', 'lock', 'seal:new', 'acknowledged:new', 'originals:new', 'inflight-keys'], args: [2, 'b9', 't', 1, '', 60000, 'run', '', 600000, '', 'start'] },
    ['schedule', 'inflight:new', 'batch:new', 'conflicts:new', 'chain:new', 'lock', 'seal:new', 'acknowledged:new', 'originals:new', 'inflight-keys'],
  ],
  ['claimSelectedQueueJobs-11', { keys: ['queue:old', 'inflight:new', 'batch:new', 'stopped', 'lock', 'originals:new', 'inflight-keys'], args: ['b9', 8, 'marker', 'run', '', 3, 0, '', 0, job(2)] }, ['queue:old', 'inflight:new', 'batch:new', 'lock', 'originals:new', 'inflight-keys']],
  ['claimSelectedSetEntries-11', { keys: ['schedule', 'inflight:new', 'batch:new', 'conflicts:new', 'seal:new', 'stopped', 'lock', 'acknowledged:new', 'inflight-keys'], args: ['b9', 'run', '', job(3), '1795459303.5'] }, ['schedule', 'inflight:new', 'batch:new', 'conflicts:new', 'seal:new', 'lock', 'acknowledged:new', 'inflight-keys']],
  ['copyJobsToLists-n4', { keys: ['ledger:q', 'queues', 'lock', 'ledgers', 'queue:q'], args: ['RPUSH', '1', 'q', 'b1', 0, '', 'run', '', job(1), '1'] }, ['ledger:q', 'queues', 'lock', 'ledgers', 'queue:q']],
  ['copyJobsToLists-n4', { keys: ['ledger:ids', 'queues', 'lock', 'ledgers', 'queue:q'], args: ['RPUSH', '1', 'q', 'b1', 0, '', 'run', '', job(1), '1'] }, ['queues', 'lock', 'ledgers', 'queue:q']],
  ['copyEntriesToSet-6', { keys: ['ledger:s', 'retry', 'lock', 'ledgers'], args: ['run', '', 'b2:x', job(5), '1795459303.5'] }, ['ledger:s', 'retry', 'lock', 'ledgers']],
  // A ledger's retire: of the two keys only the index of ledgers has a type it checks (the ledger is read as either kind).
  ['forgetGoneInflightKeys-1', { keys: ['inflight-keys', 'inflight:gone', 'inflight:q'], args: [] }, ['inflight-keys']],
  ['retireLedger-4', { keys: ['ledger:ids', 'ledgers'], args: ['retire', 600, 1, 'b0:9', 'set'] }, ['ledgers']],
  ['acknowledgeQueueBatch-4', { keys: ['inflight:q', 'batch:q', 'inflight-keys'], args: ['b1', 1] }, ['inflight:q', 'batch:q', 'inflight-keys']],
  ['acknowledgeSetBatch-10', { keys: ['inflight:s', 'batch:s', 'schedule', 'conflicts:s', 'seal:s', 'acknowledged:s', 'inflight-keys'], args: ['b2', 60, 0, '', job(5)] }, ['inflight:s', 'batch:s', 'schedule', 'conflicts:s', 'seal:s', 'acknowledged:s', 'inflight-keys']],
  // Sealed: the seed's seal holds (one entry in flight), so the call would delete the in-flight set.
  ['acknowledgeSetBatch-10', { keys: ['inflight:s', 'batch:s', 'schedule', 'conflicts:s', 'seal:s', 'acknowledged:s', 'inflight-keys'], args: ['b2', 60, 0, 't:1'] }, ['inflight:s', 'batch:s', 'schedule', 'conflicts:s', 'seal:s', 'acknowledged:s', 'inflight-keys']],
  ['acquireRunLock-5', { keys: ['lock', 'stopped'], args: ['run', '{"runId":"run"}', 1000, 'start'] }, ['lock']],
  ['copyCronDefinition-6', { keys: ['cron:copy', 'cron:index', 'lock', 'cron:index2'], args: ['cron:copy', 'run', 1000, 'arn', 'message', 'm'] }, ['cron:copy', 'cron:index', 'lock', 'cron:index2']],
  ['rewriteCronMessage-4', { keys: ['cron:h', 'lock'], args: ['m', 'm2', 'run', 1000, 'arn', '', '', ''] }, ['cron:h', 'lock']],
  ['rewriteCronQueueField-1', { keys: ['cron:k', 'lock'], args: ['old', 'new', 'run', 1000, 'arn', '=A', '', '', '', ''] }, ['cron:k', 'lock']],
  ['renewRunLock-4', { keys: ['lock', 'stopped'], args: ['run', 'renew', 1000, '{"runId":"run"}'] }, ['lock']],
  ['acquireRunLock-5', { keys: ['lock', 'stopped'], args: ['run', '{"runId":"run"}', 1000, 'hold'] }, ['lock']],
  // A plan that names its execution: whether that execution's end was recorded is read (any type) before the lock is taken.
  ['acquireRunLock-5', { keys: ['lock', 'stopped', 'ended:arn2'], args: ['run', '{"runId":"run","plannedBy":"arn2"}', 1000, 'start'] }, ['lock']],
  // The clean-up after the lock's execution ended: its end recorded (written over any type), the marker set, the lock released.
  ['renewRunLock-4', { keys: ['lock', 'stopped', 'ended:arn'], args: ['run', 'stop', 1000, '', '{"runId":"run","endedBy":"arn"}', '', 'arn'] }, ['lock']],
  ['addRunExecution-4', { keys: ['lock', 'executions'], args: ['run', 'list:1', 1000, 60] }, ['lock', 'executions']],
  ['endRunExecution-3', { keys: ['lock', 'executions'], args: ['run', 'root', 1000] }, ['lock', 'executions']],
  ['finishRun-4', { keys: ['lock', 'items', 'executions'], args: ['run', 1000] }, ['lock', 'items', 'executions']],
  ['storeRunPlan-7', { keys: ['lock', 'items', 'executions', 'routing', 'classes'], args: ['run', 1000, 'arn', 60, 'root', '{}', '["A"]', '{"kind":"set","name":"retry"}'] }, ['lock', 'items', 'executions']],
  ['appendRunPlan-3', { keys: ['lock', 'items'], args: ['run', 1000, 'arn', 1, '{"kind":"queue","name":"default"}'] }, ['lock', 'items']],
  ['forgetRunConflicts-n2', { keys: ['lock', 'conflicts:s'], args: ['run', 1000, 'arn'] }, ['lock']],
  ['forgetPageAttempt-2', { keys: ['receipts'], args: ['item:input'] }, ['receipts']],
  // A receipt written over the attempt field's count (0: an attempt its open did not count, written whatever the field holds).
  ['writePageReceipt-2', { keys: ['receipts'], args: ['item', 'item:input', 0, '{}', 3600] }, ['receipts']],
  ['endQueuePass-5', { keys: ['originals:end', 'receipts', 'queue:old'], args: ['pass-end:queue:old', 3600, '1000 arn'] }, ['originals:end', 'receipts', 'queue:old']],
  ['forgetOlderPasses-n1', { keys: ['lock', 'originals:older'], args: ['run', 1000, 'arn', '1000 arn'] }, ['lock', 'originals:older']],
  ['forgetOlderTransferPasses-n2', { keys: ['lock', 'originals:count'], args: ['run', 1000, 'arn', '1000 arn'] }, ['lock', 'originals:count']],
  // Another (dead) run's pass count, nothing of it in flight (inflight:none): forgetOtherRunsPasses-1.lua deletes it.
  ['forgetOtherRunsPasses-1', { keys: ['lock', 'originals:count', 'inflight:none'], args: ['run', 1000, 'arn'] }, ['lock', 'originals:count']],
];
