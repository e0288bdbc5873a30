--[[
  Keeps a page task's answer as the answer to its input (core/workflow/page-receipt.ts
  writePageReceipt), unless a later attempt of the item owns the receipt: two attempts of one input
  may run at once (Step Functions retried the task while its first attempt still ran, its answer
  lost: Lambda.ServiceException, Lambda.ClientExecutionTimeoutException). The stale one, ending
  after its retry had answered, wrote its receipt over the retry's (a MULTI of HSET, HDEL, EXPIRE):
  a third attempt of that input (the retry's answer lost too) then answered with the stale one's
  counts, which hold none of the retry's moves and say nothing of them (a transfer's summary said
  "Complete", every count exact, 12 of 40 jobs short: test/workflow/overlapping-page-attempts).

  Written only while this attempt is the latest of its input, and no later attempt of it answered:
  the attempt field (its input's attempts started, openPageAttempt-7.lua) still holds exactly this
  attempt's number. A later attempt of the input raised it (it counts this one as unanswered when it
  answers; if it never does, the next one counts both), or answered and deleted it (its receipt
  stands); a later input's task runs only once one attempt of this input answered, so its field is
  gone then too; and so it is once the run deleted its receipts (its end). A take-back of a later
  attempt that moved nothing (forgetPageAttempt-2.lua) lowers it back: this one's answer stands.
  Written, the field goes (at most one per task running or failed). Not written, nothing is touched.

  KEYS[1]  the run's page receipts (hash: item field → receipt JSON; attempt field → attempts)
  ARGV[1]  the item's field
  ARGV[2]  the attempt field (the item's field and the digest of the input)
  ARGV[3]  this attempt's number among its input's attempts (openPageAttempt-7.lua's count, >= 1);
           0 for an attempt that was not counted (its open call failed): written whatever the
           field holds, as before this script (best effort, like the receipt itself)
  ARGV[4]  the receipt (JSON)
  ARGV[5]  the hash's time to live in seconds (a whole number >= 1)

  Returns  1: written; 0: not (a later attempt of the item owns the receipt)

  Refused before any write (guards.lua) when KEYS[1] is not a hash, or ARGV[3] is not a whole
  number >= 0 or ARGV[5] one >= 1. Only HGET, HSET, HDEL and EXPIRE (the MULTI's commands and the take-back's).
]]
local attempt = tonumber(ARGV[3])
if attempt == nil or attempt < 0 or attempt % 1 ~= 0 then
  return redis.error_reply('ERR writePageReceipt: ARGV[3] (the attempt) must be a whole number >= 0')
end
-- EXPIRE comes after the HSET and the HDEL: version 1 took any whole number, and one above EXPIRE's
-- bound (~9.2e15 s) failed the call with the receipt written (guards.lua badTtl: 1 to 10^15).
local badTtlReply = badTtl('writePageReceipt', 5)
if badTtlReply then return badTtlReply end
local ttl = ARGV[5]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'HGET', 'HSET', 'HDEL', 'EXPIRE' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'hash' } })
if refusal then return refusal end
if attempt > 0 and tonumber(redis.call('HGET', KEYS[1], ARGV[2])) ~= attempt then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ttl)
return 1
