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

  A slice's claim goes out as several of these calls, in order, in one pipeline
  (core/transfer/claim-calls.ts), so that no call keeps every client of the Redis waiting for
  long. Call k > 1 claims only if call k - 1 of the same slice claimed its full share and nothing
  else changed the in-flight set since (as claimQueueJobs-4.lua): the slice's entries then belong
  to one batch, and a call that ran out of entries or failed lets no later call claim.

  KEYS[1]  the sorted set
  KEYS[2]  the run's in-flight sorted set for it
  KEYS[3]  the in-flight batch's id (deleted with the in-flight set when acknowledged)
  KEYS[4]  the run's record of conflicts given back to this set (a set of SHA-1 digests)
  KEYS[5]  the slice's claim chain: '<slice token>:<k>:<batch id>:<in-flight size>' after its
           call k claimed its full share (a string with a TTL; only a slice of several calls
           writes it)
  ARGV[1]  N, the most entries this call claims
  ARGV[2]  a new batch id (random), used only if the in-flight set starts a new batch
  ARGV[3]  the slice's token (random); '' when the slice is this one call
  ARGV[4]  k, this call's place in the slice (1-based)
  ARGV[5]  'last' for the slice's last call, else ''
  ARGV[6]  the chain's time to live in ms (it only has to outlive one pipeline)

  The in-flight set may already hold entries an interrupted attempt claimed but did not
  acknowledge: call 1 returns them too. A later call returns only what it claimed.

  Refused before any write (guards.lua), nothing claimed, when a key holds another type.

  Returns  { newly claimed count, or -1 when the chain did not hold (nothing written),
           batch id ('' when nothing is in flight), member, score, member, score… } (scores as
           Redis prints them, which parse back to the same double)
]]
local source, inflight, batchKey, conflicts, chain = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local refusal = wrongType({ { source, 'zset' }, { inflight, 'zset' }, { batchKey, 'string' }, { conflicts, 'set' }, { chain, 'string' } })
if refusal then return refusal end
local n = tonumber(ARGV[1])
local token, k, last = ARGV[3], tonumber(ARGV[4]), ARGV[5] == 'last'
local batch = redis.call('GET', batchKey)
local before = redis.call('ZCARD', inflight)
if k > 1 and redis.call('GET', chain) ~= token .. ':' .. (k - 1) .. ':' .. (batch or '') .. ':' .. before then
  return { -1, batch or '' }
end
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
-- Two variadic commands (lib/variadic.lua), not two calls per entry. The scores are as ZRANGE
-- printed them, which ZADD takes back as the same double.
local members, scored = {}, {}
for i = 1, #entries, 2 do
  members[#members + 1] = entries[i]
  scored[#scored + 1] = entries[i + 1]
  scored[#scored + 1] = entries[i]
end
variadic('ZREM', source, members)
variadic('ZADD', inflight, scored)
local claimed = #entries / 2
if not batch and before + claimed > 0 then
  batch = ARGV[2]
  redis.call('SET', batchKey, batch)
end
if token ~= '' then
  if not last and claimed == n then
    redis.call('SET', chain, token .. ':' .. k .. ':' .. (batch or '') .. ':' .. redis.call('ZCARD', inflight), 'PX', ARGV[6])
  elseif k > 1 then
    redis.call('DEL', chain)
  end
end
-- Call 1 returns what an interrupted attempt left in flight too; later calls only their claims.
local reply = (k == 1 and before > 0) and redis.call('ZRANGE', inflight, 0, -1, 'WITHSCORES') or entries
table.insert(reply, 1, batch or '')
table.insert(reply, 1, claimed)
return reply
