--[[
  Takes back one attempt of a page input counted by openPageAttempt-7.lua (core/workflow/
  page-receipt.ts forgetPageAttempt): an attempt that the locks' renewal refused, or that failed
  before it sent a single script call, moved nothing. One decrement, read and written in one call:
  two attempts of one input may run at once (Step Functions retried the task while its first still
  ran), and one that wrote its own count less one erased the other's, whose jobs then went
  uncounted with its retry's counts said exact. The field goes at zero: a task leaves no key behind.
  Only HGET, HSET and HDEL: commands a run's user is already checked for (command-permissions.ts).

  KEYS[1]  the run's page receipts (hash: item field → receipt JSON; attempt field → attempts)
  ARGV[1]  the attempt field (the item's field and the digest of the input)

  Returns  the attempts of that input still counted (0: the field is gone)

  Refused before any write (guards.lua) when KEYS[1] is not a hash.
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'HGET', 'HDEL', 'HSET' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'hash' } })
if refusal then return refusal end
local left = (tonumber(redis.call('HGET', KEYS[1], ARGV[1])) or 0) - 1
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], left)
return left
