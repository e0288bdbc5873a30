--[[
  Rewrites the queue of one sidekiq-cron job definition: its `message` field is replaced by the
  rewritten bytes only if it still holds exactly the bytes that were read, and the ActiveJob prefix
  fields (`active_job`, `queue_name_prefix`, `queue_name_delimiter`) are still the bytes read (or
  absent as they were), so a definition saved meanwhile (a Sidekiq booting with new rules, an
  operator in the web UI) is never overwritten. The prefix fields decide the queue sidekiq-cron
  pushes to (job.rb queue_name_with_prefix: "<prefix><delimiter><queue of the message>"), and the
  rewritten message names the destination without the prefix they made (or with none): with
  another prefix, it would push elsewhere. Only while the run's lock still carries the rewriting
  plan's plannedAt and plannedBy (lib/run-generation.lua plannerLost): a plan paused after it took
  the lock, while a later start of the run (maybe with other routing) planned, rewrites no
  definition by its own routing.

  KEYS[1]  the definition's hash (`cron_job:NAME` or `cron_job:NAMESPACE:NAME`)
  KEYS[2]  the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  ARGV[1]  the message as read
  ARGV[2]  the rewritten message (only its queue value differs)
  ARGV[3]  the run's id
  ARGV[4]  when the rewriting plan planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[5]  the ARN of its execution (plannedBy), or '' (none)
  ARGV[6]  `active_job` as read, prefixed by '=', or '' when it was absent
  ARGV[7]  `queue_name_prefix` as read, the same way
  ARGV[8]  `queue_name_delimiter` as read, the same way

  Returns  1 rewritten; 0 the message or a prefix field changed, or the definition is gone (nothing
           written); { 3, lock record } another start of the run holds the lock, { 4, lock record }
           another run's or unreadable, { 4 } gone: nothing written

  Refused before any write (guards.lua): KEYS[1] not a hash, KEYS[2] not a string.
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'HGET', 'HSET' }, { KEYS[2], 'TYPE', 'GET' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'hash' }, { KEYS[2], 'string' } })
if refusal then return refusal end
local lost = plannerLost(KEYS[2], ARGV[3], ARGV[4], ARGV[5])
if lost then return lost end
-- '' for a field that was absent, '=' and its bytes for one that was there (an empty value is '=').
local function asRead(field)
  local value = redis.call('HGET', KEYS[1], field)
  if value == false then return '' end
  return '=' .. value
end
if redis.call('HGET', KEYS[1], 'message') ~= ARGV[1] then return 0 end
if asRead('active_job') ~= ARGV[6] or asRead('queue_name_prefix') ~= ARGV[7] or asRead('queue_name_delimiter') ~= ARGV[8] then return 0 end
-- The one write, last.
redis.call('HSET', KEYS[1], 'message', ARGV[2])
return 1
