--[[
  A page task's start, on the run's page receipts (core/workflow/page-receipt.ts): reads the item's
  receipt, and counts this attempt of this very input. The count tells a retry whose first attempt
  started and never answered (Step Functions retried it while it still ran, after its Lambda ran
  out of time, or after a call's reply was lost) from a first attempt: what that attempt did is in
  no answer, and the retry's counters must not be said as exact. One call, sent where the receipt's
  HGET was, so a page task sends no more commands than before; the receipt's write removes the count.
  Only HGET, HSET and EXPIRE: commands a run's user is already checked for (command-permissions.ts).

  KEYS[1]  the run's page receipts (hash: item field → receipt JSON; attempt field → attempts)
  ARGV[1]  the item's field (its receipt)
  ARGV[2]  the attempt field (the item's field and the digest of this input)
  ARGV[3]  the receipts' TTL, in seconds

  Returns  { the item's receipt (JSON) or false, attempts of this input so far, this one included }
]]
local refusal = wrongType({ { KEYS[1], 'hash' } })
if refusal then return refusal end
local receipt = redis.call('HGET', KEYS[1], ARGV[1])
local attempts = (tonumber(redis.call('HGET', KEYS[1], ARGV[2])) or 0) + 1
redis.call('HSET', KEYS[1], ARGV[2], attempts)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return { receipt, attempts }
