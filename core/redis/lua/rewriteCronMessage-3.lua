--[[
  Rewrites the queue of one sidekiq-cron job definition: its `message` field is replaced by the
  rewritten bytes only if it still holds exactly the bytes that were read, so a definition saved
  meanwhile (a Sidekiq booting with new rules, an operator in the web UI) is never overwritten.
  Only while the run's lock still carries the rewriting plan's plannedAt and plannedBy
  (lib/run-generation.lua plannerLost): a plan paused after it took the lock, while a later start
  of the run (maybe with other routing) planned, rewrites no definition by its own routing.

  KEYS[1]  the definition's hash (`cron_job:NAME` or `cron_job:NAMESPACE:NAME`)
  KEYS[2]  the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  ARGV[1]  the message as read
  ARGV[2]  the rewritten message (only its queue value differs)
  ARGV[3]  the run's id
  ARGV[4]  when the rewriting plan planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[5]  the ARN of its execution (plannedBy), or '' (none)

  Returns  1 rewritten; 0 the message changed or the definition is gone (nothing written);
           { 3, lock record } another start of the run holds the lock, { 4, lock record } another
           run's or unreadable, { 4 } gone: nothing written

  Refused before any write (guards.lua): KEYS[1] not a hash, KEYS[2] not a string.
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'HGET', 'HSET' }, { KEYS[2], 'TYPE', 'GET' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'hash' }, { KEYS[2], 'string' } })
if refusal then return refusal end
local lost = plannerLost(KEYS[2], ARGV[3], ARGV[4], ARGV[5])
if lost then return lost end
if redis.call('HGET', KEYS[1], 'message') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'message', ARGV[2])
return 1
