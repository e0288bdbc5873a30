--[[
  Rewrites the queue of one sidekiq-cron job definition: its `message` field is replaced by the
  rewritten bytes only if it still holds exactly the bytes that were read, so a definition saved
  meanwhile (a Sidekiq booting with new rules, an operator in the web UI) is never overwritten.

  KEYS[1]  the definition's hash (`cron_job:NAME` or `cron_job:NAMESPACE:NAME`)
  ARGV[1]  the message as read
  ARGV[2]  the rewritten message (only its queue value differs)

  Returns  1 rewritten; 0 the message changed or the definition is gone (nothing written)

  Refused before any write (guards.lua): KEYS[1] not a hash.
]]
local refusal = wrongType({ { KEYS[1], 'hash' } })
if refusal then return refusal end
if redis.call('HGET', KEYS[1], 'message') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'message', ARGV[2])
return 1
