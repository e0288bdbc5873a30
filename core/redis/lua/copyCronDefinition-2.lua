--[[
  Copies one sidekiq-cron job definition to the target Redis, as sidekiq-cron's own `save` writes
  it (the hash, then its key in the index set), unless the target already defines it: a definition
  saved on the target (a Sidekiq booted there with its schedule) is newer than ours and is kept.

  KEYS[1]  the definition's hash on the target (`cron_job:NAME` or `cron_job:NAMESPACE:NAME`)
  KEYS[2]  the index set on the target (`cron_jobs` or `cron_jobs:NAMESPACE`)
  ARGV[1]  the set member naming the hash (its key without the Redis prefix)
  ARGV[2…] field, value, field, value… of the hash, bytes as read on the source

  Returns  1 copied; 0 the target already had the hash (nothing written)

  Refused before any write (guards.lua): KEYS[1] not a hash or KEYS[2] not a set.
]]
local refusal = wrongType({ { KEYS[1], 'hash' }, { KEYS[2], 'set' } })
if refusal then return refusal end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
