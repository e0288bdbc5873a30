--[[
  Claims the N entries of a sorted set (schedule, retry, dead) that are due soonest into this
  run's in-flight sorted set on the same Redis, atomically and with their scores: the Sidekiq
  poller can no longer enqueue them here, and no crash can lose them.

  Every in-flight batch gets an id, new when the in-flight set starts empty, kept while it holds
  entries: the ledger identifies an entry by (batch, digest of its bytes), so that two entries
  with the same jid are two jobs, and a retried batch is the same batch. The id is a random one
  the caller proposes: no counter has to outlive the run on the old Redis.

  Entries this run gave back as conflicts (their rewrite was already on the target, see
  acknowledgeSetBatch-4.lua) are stepped over, by the SHA-1 of their bytes: the run does not claim
  them again and again.

  KEYS[1]  the sorted set
  KEYS[2]  the run's in-flight sorted set for it
  KEYS[3]  the in-flight batch's id (deleted with the in-flight set when acknowledged)
  KEYS[4]  the run's record of conflicts given back to this set (a set of SHA-1 digests)
  ARGV[1]  N, the most entries to claim
  ARGV[2]  a new batch id (random), used only if the in-flight set starts a new batch

  The in-flight set may already hold entries an interrupted attempt claimed but did not
  acknowledge; they are returned too.

  Refused before any write (guards.lua), nothing claimed, when a key holds another type.

  Returns  { newly claimed count, batch id ('' when nothing is in flight), member, score,
           member, score… } for the whole in-flight set (scores as Redis prints them, which
           parse back to the same double)
]]
local source, inflight, batchKey, conflicts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local refusal = wrongType({ { source, 'zset' }, { inflight, 'zset' }, { batchKey, 'string' }, { conflicts, 'set' } })
if refusal then return refusal end
local n = tonumber(ARGV[1])
local batch = redis.call('GET', batchKey)
local skip = redis.call('EXISTS', conflicts) == 1
local entries = {}
local from = 0
while #entries < 2 * n do
  local page = redis.call('ZRANGE', source, from, from + n - 1, 'WITHSCORES')
  for i = 1, #page, 2 do
    if #entries < 2 * n and not (skip and redis.call('SISMEMBER', conflicts, redis.sha1hex(page[i])) == 1) then
      entries[#entries + 1] = page[i]
      entries[#entries + 1] = page[i + 1]
    end
  end
  if #page < 2 * n or not skip then break end
  from = from + n
end
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
