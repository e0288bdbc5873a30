--[[
  A page task's start, on the run's page receipts (core/workflow/page-receipt.ts): reads the item's
  receipt, and counts this attempt of this very input. The count tells a retry whose first attempt
  started and never answered (Step Functions retried it while it still ran, after its Lambda ran
  out of time, or after a call's reply was lost) from a first attempt: what that attempt did is in
  no answer, and the retry's counters must not be said as exact. One call, sent where the receipt's
  HGET was, so a page task sends no more commands than before; the receipt's write removes the count.
  Counted only while the lock names this start of the run and no stop marker is set: a stale or
  stopped task, which the lock's renewal refuses, writes nothing (it reads the receipt only).
  Only GET, EXISTS, HGET, HSET and EXPIRE: commands a run's user is already checked for
  (command-permissions.ts).

  An attempt that finds this very input's receipt (its `input` is the digest in ARGV[2]) answers
  with it and moves nothing (page-step.ts): it is not counted. Counted, it took an attempt number
  again after the receipt's write had removed the field, the number of an attempt Step Functions
  gave up on that may still run (attempt 1): that one, ending, found its number there and wrote its
  receipt over the one it had answered with, and a fourth attempt (the third's answer lost too)
  answered with counts that held none of the retry's moves, said exact
  (test/redis/page-receipt-latest.test.ts).

  KEYS[1]  the run's page receipts (hash: item field → receipt JSON; attempt field → attempts)
  KEYS[2]  the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[3]  the run's stop marker
  ARGV[1]  the item's field (its receipt)
  ARGV[2]  the attempt field (the item's field, ':', and the digest of this input)
  ARGV[3]  the receipts' TTL, in seconds (a whole number > 0, else an error, nothing written)
  ARGV[4]  the run's id
  ARGV[5]  when the task's execution planned (epoch ms), or '' when unknown
  ARGV[6]  the execution whose plan it belongs to (plannedBy), or ''

  Returns  { the item's receipt (JSON) or false, attempts of this input so far, this one included
           (0: not counted, the lock is not this start's, the run is stopped, or the receipt
           answers this very input) }
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'HGET', 'HSET', 'EXPIRE' }, { KEYS[2], 'GET' }, { KEYS[3], 'EXISTS' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'hash' } })
if refusal then return refusal end
-- EXPIRE refuses such a time to live after the HSET (or, 0 or less, deletes the receipts): version 5
-- counted the attempt, then failed, the receipts perhaps left with no expiry.
-- Version 6 let a whole number above EXPIRE's bound (~9.2e15 s) through (guards.lua badTtl: 1 to 10^15).
local badTtlReply = badTtl('openPageAttempt', 3)
if badTtlReply then return badTtlReply end
local receipt = redis.call('HGET', KEYS[1], ARGV[1])
-- This very input answered already: the attempt answers with the receipt, nothing to count.
if receipt then
  local decoded, parsed = pcall(cjson.decode, receipt)
  if decoded and type(parsed) == 'table' and parsed.input == string.match(ARGV[2], ':([^:]*)$') then return { receipt, 0 } end
end
local current = redis.call('GET', KEYS[2])
local ok, holder = pcall(cjson.decode, current or '')
local held = ok and type(holder) == 'table' and holder.runId == ARGV[4] and not laterStart(KEYS[2], ARGV[4], ARGV[5], ARGV[6])
if not held or redis.call('EXISTS', KEYS[3]) == 1 then return { receipt, 0 } end
local attempts = (tonumber(redis.call('HGET', KEYS[1], ARGV[2])) or 0) + 1
redis.call('HSET', KEYS[1], ARGV[2], attempts)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return { receipt, attempts }
