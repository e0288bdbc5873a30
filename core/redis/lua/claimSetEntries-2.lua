--[[
  Claims the N entries of a sorted set (schedule, retry, dead) that are due soonest into this
  run's in-flight sorted set on the same Redis, atomically and with their scores: the Sidekiq
  poller can no longer enqueue them here, and no crash can lose them.

  KEYS[1]  the sorted set
  KEYS[2]  the run's in-flight sorted set for it
  ARGV[1]  N, the most entries to claim

  The in-flight set may already hold entries an interrupted attempt claimed but did not
  acknowledge; they are returned too.

  Returns  { newly claimed count, member, score, member, score… } for the whole in-flight set
           (scores as Redis prints them, which parse back to the same double)
]]
local source, inflight = KEYS[1], KEYS[2]
local entries = redis.call('ZRANGE', source, 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #entries, 2 do
  redis.call('ZREM', source, entries[i])
  redis.call('ZADD', inflight, entries[i + 1], entries[i])
end
local reply = redis.call('ZRANGE', inflight, 0, -1, 'WITHSCORES')
table.insert(reply, 1, #entries / 2)
return reply
