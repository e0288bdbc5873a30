--[[
  Claims the N entries of a sorted set (schedule, retry, dead) that are due soonest into this
  run's in-flight sorted set on the same Redis, atomically and with their scores: the Sidekiq
  poller can no longer enqueue them here, and no crash can lose them.

  Every in-flight batch gets an id, new when the in-flight set starts empty, kept while it holds
  entries: the ledger identifies an entry by (batch, digest of its bytes), so that two entries
  with the same jid are two jobs, and a retried batch is the same batch. The id is a random one
  the caller proposes: no counter has to outlive the run on the old Redis.

  KEYS[1]  the sorted set
  KEYS[2]  the run's in-flight sorted set for it
  KEYS[3]  the in-flight batch's id (deleted with the in-flight set when acknowledged)
  ARGV[1]  N, the most entries to claim
  ARGV[2]  a new batch id (random), used only if the in-flight set starts a new batch

  The in-flight set may already hold entries an interrupted attempt claimed but did not
  acknowledge; they are returned too.

  Returns  { newly claimed count, batch id ('' when nothing is in flight), member, score,
           member, score… } for the whole in-flight set (scores as Redis prints them, which
           parse back to the same double)
]]
local source, inflight, batchKey = KEYS[1], KEYS[2], KEYS[3]
local batch = redis.call('GET', batchKey)
local entries = redis.call('ZRANGE', source, 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #entries, 2 do
  redis.call('ZREM', source, entries[i])
  redis.call('ZADD', inflight, entries[i + 1], entries[i])
end
if not batch and redis.call('EXISTS', inflight) == 1 then
  batch = ARGV[2]
  redis.call('SET', batchKey, batch)
end
local reply = redis.call('ZRANGE', inflight, 0, -1, 'WITHSCORES')
table.insert(reply, 1, batch or '')
table.insert(reply, 1, #entries / 2)
return reply
