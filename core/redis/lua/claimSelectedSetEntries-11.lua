--[[
  Claims chosen entries of a sorted set (schedule, retry, dead) into this run's in-flight sorted
  set, atomically and with their scores: a class-selective transfer takes only the entries of its
  classes, every other entry keeps its score. An entry is taken only if it is still in the set
  with the score the caller read; otherwise the poller enqueued it, Sidekiq deleted or retried it
  meanwhile, and it is not taken (status '0').

  Entries this run gave back as conflicts (acknowledgeSetBatch-10.lua) are stepped over, by the
  SHA-1 of their bytes (status 'c'), as claimSetEntries-16.lua does; so is an entry whose exact
  bytes are already in the in-flight set (status 'h': added to the source again while the run held
  them; a ZADD would merge the two jobs into one member), or were written and acknowledged from the
  batch in flight (status 'h' too: KEYS[8], see claimSetEntries-16.lua). Batches as there: a new id
  (ARGV[1]) when the in-flight set starts empty, kept while it holds entries. A call that claims
  deletes the in-flight set's seal (KEYS[5], claimSetEntries-16.lua): a seal must never outlive an
  entry added to the in-flight set after it, or a sealed acknowledge could delete that entry.

  KEYS[1]  the sorted set
  KEYS[2]  the run's in-flight sorted set for it
  KEYS[3]  the in-flight batch's id
  KEYS[4]  the run's record of conflicts given back to this set (a set of SHA-1 digests)
  KEYS[5]  the in-flight set's seal (claimSetEntries-16.lua): deleted when anything is claimed
  KEYS[6]  the run's stop marker (core/redis/run-lock.ts runStopMarkerKey): while it exists,
           nothing is claimed
  KEYS[7]  the run lock on this server (core/redis/run-lock.ts runLockKey): nothing is claimed
           while another run holds it, or a later execution of this run, nor, ARGV[3] known, while it is
           gone or another run's past its expiry (lib/claim-lock.lua lockTaken, lockGone), as
           claimSetEntries-16.lua: a claim after the run lost its lock would take the entries out
           of the set into an in-flight set whose write the target then refuses, out of the
           poller's reach until a later run resumes them
  KEYS[8]  the batch's record of written entries acknowledged while others of it stayed in flight
           (ledger ids, acknowledgeSetBatch-10.lua); deleted when a new batch starts
  KEYS[9]  the source's index of in-flight keys (core/transfer/inflight-index.ts, a set of key
           names, `<prefix>sidekiq-migrate:inflight-keys`): the in-flight key's name is added to
           it (SADD) by the call that leaves the key holding anything, at its end, when not named
           yet, so an in-flight key this version writes is always named there (a summary finds
           in-flight keys by reading it, not by walking the keyspace); never taken out here
  ARGV[1]  a new batch id (random), used only if the in-flight set starts a new batch
  ARGV[2]  this run's id
  ARGV[3]  this execution's generation (lib/claim-lock.lua lockTaken), '' when unknown
  then     pairs: member, score as read (ZRANGE … WITHSCORES)

  Returns  { newly claimed count, batch id ('' when nothing is in flight), one status per chosen
           entry in order ('1' taken, '0' gone or rescored, 'c' a conflict given back before, 'h'
           its bytes already in flight: left on the source), member, score, member, score… } for
           the whole in-flight set; { -2 when the run was stopped, -3 when another run holds the
           lock, -4 when a later execution of this run does, -5 when the lock is gone or another run's
           past its expiry (lockGone), '', '' } (nothing written, nothing
           returned)

  Refused before any write (guards.lua) when a key holds another type or a score is not one ZADD
  accepts; an error, nothing written, when the arguments do not come in pairs.
]]
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local source, inflight, batchKey, conflicts, seal, acked = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[8]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { source, 'TYPE', 'ZSCORE', 'ZREM' }, { inflight, 'TYPE', 'ZSCORE', 'ZADD', 'EXISTS', 'ZRANGE' }, { batchKey, 'TYPE', 'GET', 'SET' },
  { conflicts, 'TYPE', 'EXISTS', 'SISMEMBER' }, { seal, 'TYPE', 'DEL' }, { KEYS[6], 'EXISTS' }, { KEYS[7], 'TYPE', 'GET' },
  { acked, 'TYPE', 'EXISTS', 'SISMEMBER', 'DEL' }, { KEYS[9], 'TYPE', 'SISMEMBER', 'SADD' }, { false, 'TIME' } })
if refused then return refused end
local refusal = wrongType({ { source, 'zset' }, { inflight, 'zset' }, { batchKey, 'string' }, { conflicts, 'set' }, { seal, 'string' }, { KEYS[7], 'string' }, { acked, 'set' }, { KEYS[9], 'set' } })
if refusal then return refusal end
if #ARGV < 3 or (#ARGV - 3) % 2 ~= 0 then return redis.error_reply('ERR claimSelectedSetEntries: expected batch, run id, generation, then member/score pairs') end
local invalid = badScore(5, 2)
if invalid then return invalid end
if redis.call('EXISTS', KEYS[6]) == 1 then return { -2, '', '' } end
local taken = lockTaken(KEYS[7], ARGV[2], ARGV[3]) or lockGone(KEYS[7], ARGV[2], ARGV[3])
if taken then return { taken, '', '' } end
local batch = redis.call('GET', batchKey)
local skip = redis.call('EXISTS', conflicts) == 1
local ackedPrefix = batch and redis.call('EXISTS', acked) == 1 and batch .. ':'
local claimed = 0
local statuses = {}
for i = 4, #ARGV, 2 do
  local member, score = ARGV[i], ARGV[i + 1]
  local now = redis.call('ZSCORE', source, member)
  if not now or tonumber(now) ~= tonumber(score) then
    statuses[#statuses + 1] = '0'
  elseif skip and redis.call('SISMEMBER', conflicts, redis.sha1hex(member)) == 1 then
    statuses[#statuses + 1] = 'c'
  elseif redis.call('ZSCORE', inflight, member) or (ackedPrefix and redis.call('SISMEMBER', acked, ackedPrefix .. redis.sha1hex(member)) == 1) then
    statuses[#statuses + 1] = 'h'
  else
    redis.call('ZREM', source, member)
    redis.call('ZADD', inflight, now, member)
    claimed = claimed + 1
    statuses[#statuses + 1] = '1'
  end
end
if claimed > 0 then redis.call('DEL', seal) end
if not batch and redis.call('EXISTS', inflight) == 1 then
  batch = ARGV[1]
  redis.call('SET', batchKey, batch)
  redis.call('DEL', acked) -- an earlier batch's, if any: its ids name that batch
end
local reply = redis.call('ZRANGE', inflight, 0, -1, 'WITHSCORES')
table.insert(reply, 1, table.concat(statuses))
table.insert(reply, 1, batch or '')
table.insert(reply, 1, claimed)
-- Named in the index in the call that leaves it in flight (inflight-index.ts): no in-flight key
-- this version writes is ever missing from it. Last, after the claim's writes (a script that has
-- written runs to its end: no refusal for memory then), and only when not named yet.
if redis.call('EXISTS', inflight) == 1 and redis.call('SISMEMBER', KEYS[9], inflight) == 0 then redis.call('SADD', KEYS[9], inflight) end
return reply
