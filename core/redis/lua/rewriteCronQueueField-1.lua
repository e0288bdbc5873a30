--[[
  Rewrites the `queue` field of one sidekiq-cron job definition saved without a `message` field:
  sidekiq-cron builds its message from `klass` (or `class`) and pushes to that field's queue
  (job.rb initialize, `elsif @klass`). Only that field's value is written, and only if the fields
  sidekiq-cron reads to build the message and its queue are still exactly as read (no `message`;
  `klass`, `class`, `queue` and the ActiveJob prefix fields the same bytes, or absent as they
  were): a definition saved meanwhile (a Sidekiq booting with new rules, an operator in the web
  UI) is never overwritten. Only while the
  run's lock still carries the rewriting plan's plannedAt and plannedBy (lib/run-generation.lua
  plannerLost), as rewriteCronMessage-4.lua.

  KEYS[1]  the definition's hash (`cron_job:NAME` or `cron_job:NAMESPACE:NAME`)
  KEYS[2]  the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  ARGV[1]  the `queue` field as read
  ARGV[2]  its rewritten value (the destination queue)
  ARGV[3]  the run's id
  ARGV[4]  when the rewriting plan planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[5]  the ARN of its execution (plannedBy), or '' (none)
  ARGV[6]  `klass` as read, prefixed by '=', or '' when it was absent
  ARGV[7]  `class` as read, prefixed by '=', or '' when it was absent
  ARGV[8]  `active_job` as read, the same way
  ARGV[9]  `queue_name_prefix` as read, the same way
  ARGV[10] `queue_name_delimiter` as read, the same way (these three decide the prefix sidekiq-cron
           puts before the queue, job.rb queue_name_with_prefix: ARGV[2] is the destination
           without the prefix they made, or with none, so they must still be as read)

  Returns  1 rewritten; 0 the definition changed (a message now, another klass, class, queue,
           active_job, queue_name_prefix or queue_name_delimiter)
           or is gone (nothing written); { 3, lock record } another start of the run holds the
           lock, { 4, lock record } another run's or unreadable, { 4 } gone: nothing written

  Refused before any write (guards.lua): KEYS[1] not a hash, KEYS[2] not a string.
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'HEXISTS', 'HGET', 'HSET' }, { KEYS[2], 'TYPE', 'GET' } })
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
if redis.call('HEXISTS', KEYS[1], 'message') == 1 then return 0 end
if redis.call('HGET', KEYS[1], 'queue') ~= ARGV[1] then return 0 end
if asRead('klass') ~= ARGV[6] or asRead('class') ~= ARGV[7] then return 0 end
if asRead('active_job') ~= ARGV[8] or asRead('queue_name_prefix') ~= ARGV[9] or asRead('queue_name_delimiter') ~= ARGV[10] then return 0 end
redis.call('HSET', KEYS[1], 'queue', ARGV[2])
return 1
