--[[
  Copies one sidekiq-cron job definition to the target Redis, as sidekiq-cron's own `save` writes
  it (the hash, then its key in the index set, and in every other index set naming it on the
  source: copyCronDefinition-4 added it to one set only, so a member of both `cron_jobs` and
  `cron_jobs:default` went into the first, where a 2.x Sidekiq does not read it), unless the target already defines it: a definition
  saved on the target (a Sidekiq booted there with its schedule) is newer than ours and is kept.
  A hash already there is never written; when KEYS[2], the first set naming it on the source,
  already names it on the target (what copyCronDefinition-4 or earlier left: the hash and that
  set, written together), the other sets that do not name it yet are given it, so a re-run
  completes an older copy. A hash KEYS[2] does not name on the target is not a copy of ours (a
  2.x Sidekiq's own save names it in `cron_jobs:NAMESPACE` only): nothing is added. Were it
  added to `cron_jobs` (always KEYS[2] when the source names it there), a 2.x poller would, when
  it starts, re-create it in the default namespace (job.rb migrate_old_jobs_if_needed!): one of
  another namespace pushed twice, or the default namespace's definition of that name overwritten.
  Only while the run's lock on the target still carries the copying plan's plannedAt and
  plannedBy (lib/run-generation.lua plannerLost): a plan paused after it took the lock, while a
  later start of the run planned, copies nothing more.

  KEYS[1]  the definition's hash on the target (`cron_job:NAME` or `cron_job:NAMESPACE:NAME`)
  KEYS[2]  the index set on the target (`cron_jobs` or `cron_jobs:NAMESPACE`)
  KEYS[3]  the run lock on the target (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[4…] the other index sets naming it on the source (none for most definitions)
  ARGV[1]  the set member naming the hash (its key without the Redis prefix)
  ARGV[2]  the run's id
  ARGV[3]  when the copying plan planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[4]  the ARN of its execution (plannedBy), or '' (none)
  ARGV[5…] field, value, field, value… of the hash, bytes as read on the source

  Returns  1 copied; 0 the target already had the hash (nothing written); 2 it had the hash,
           kept, named by KEYS[2], and the member was added to the other set(s) that did not name it; { 3, lock record }
           another start of the run holds the lock, { 4, lock record } another run's or
           unreadable, { 4 } gone: nothing written

  Refused before any write (guards.lua): KEYS[1] not a hash, KEYS[2] or KEYS[4…] not a set or
  KEYS[3] not a string.
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local commands = { { KEYS[1], 'TYPE', 'EXISTS', 'HSET' }, { KEYS[2], 'TYPE', 'SISMEMBER', 'SADD' }, { KEYS[3], 'TYPE', 'GET' } }
local types = { { KEYS[1], 'hash' }, { KEYS[2], 'set' }, { KEYS[3], 'string' } }
for i = 4, #KEYS do
  commands[#commands + 1] = { KEYS[i], 'TYPE', 'SISMEMBER', 'SADD' }
  types[#types + 1] = { KEYS[i], 'set' }
end
local refused = refusedCommand(commands)
if refused then return refused end
local refusal = wrongType(types)
if refusal then return refusal end
local lost = plannerLost(KEYS[3], ARGV[2], ARGV[3], ARGV[4])
if lost then return lost end
if redis.call('EXISTS', KEYS[1]) == 1 then
  -- Ours from an earlier copy only when the set every copy of ours wrote with the hash names it (never the hash).
  if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return 0 end
  local added = 0
  for i = 4, #KEYS do added = added + redis.call('SADD', KEYS[i], ARGV[1]) end
  if added > 0 then return 2 end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('SADD', KEYS[2], ARGV[1])
for i = 4, #KEYS do redis.call('SADD', KEYS[i], ARGV[1]) end
return 1
