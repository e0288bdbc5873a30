--[[
  Ends a queue re-route's pass (core/reroute/queue-slice.ts countArrivals): its record
  (core/reroute/pass-record.ts) leaves its own key for a field of the run's page receipts, and the
  queue's length is read for the arrivals' count, in one atomic step.

  Why not a DEL: when this call ran but its reply was lost, the task failed and was retried with
  its input; for the pass's first slice that input has no cursor, and with the record gone the
  retry began the pass again from the queue's length, jobs pushed meanwhile included (moved as
  originals, the first attempt's moves in no count). The retry now finds the record in the
  receipts (pass-record.ts passStart), which the run's last summary deletes with them
  (summarize-step.ts), or which expire with them an hour after a stopped or failed run's last page.

  KEYS[1]  the pass's record (a string, `<prefix>sidekiq-migrate:<run>:originals:queue:NAME`)
  KEYS[2]  the run's page receipts (a hash, core/workflow/page-receipt.ts)
  KEYS[3]  the queue (a list, queue:NAME)
  ARGV[1]  the receipts' field for the ended pass's record (pass-record.ts passEndField)
  ARGV[2]  the receipts' time to live in seconds (page-receipt.ts PAGE_RECEIPTS_TTL_SECONDS)

  Returns  the queue's length

  Refused before any write (guards.lua) when KEYS[1] is not a string, KEYS[2] not a hash or
  KEYS[3] not a list. Only GET, HSET, EXPIRE, DEL and LLEN: commands a run's user is already
  checked for (command-permissions.ts).
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'GET', 'DEL' }, { KEYS[2], 'TYPE', 'HSET', 'EXPIRE' }, { KEYS[3], 'TYPE', 'LLEN' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' }, { KEYS[2], 'hash' }, { KEYS[3], 'list' } })
if refusal then return refusal end
local record = redis.call('GET', KEYS[1])
if record then
  redis.call('HSET', KEYS[2], ARGV[1], record)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  redis.call('DEL', KEYS[1])
end
return redis.call('LLEN', KEYS[3])
