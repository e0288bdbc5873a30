--[[
  Writes claimed sorted-set entries to the same set on the target, each at most once per run
  (see copyJobsToLists-n.lua for why a ledger and not the set itself: the entry may have been
  polled, run and even re-added on the target since the first copy).

  A sorted set cannot hold the same member twice: when an entry's bytes (rewritten, when routing
  changes its queue) are already in the target set — another entry of this run was rewritten to
  the same bytes, or it was there before — a plain ZADD would merge two jobs into one. It is
  added with NX, and when that adds nothing it is a conflict: not written, not in the ledger; the
  acknowledge gives it back to the source set (acknowledgeSetBatch-4.lua).

  The ledger has no TTL here (and loses one an older version gave it): under the volatile-*
  eviction policies only keys with a TTL are evicted, and a ledger evicted while its entries are
  in flight would let them be written twice. Its TTL is set once nothing it records can be in
  flight any more (core/transfer/retire-ledger.ts).

  KEYS[1]  the run's ledger for this source set: a set of the ids of the claimed entries written
  KEYS[2]  the target sorted set
  ARGV     triples: the claimed entry's ledger id (`<batch>:<sha1 of the member>`, see
           core/transfer/ledger-id.ts), member, score (as claimed: the same double)

  Refused before any write (guards.lua), nothing written, when the ledger is not a set, the
  target not a sorted set, or a score is not one ZADD takes.

  Returns  { written, already, i… }: entries added now; entries the ledger says were written
           before (a retried or resumed batch); then the 1-based positions (among the triples)
           of the conflicts
]]
local ledger, set = KEYS[1], KEYS[2]
local refusal = wrongType({ { ledger, 'set' }, { set, 'zset' } }) or badScore(3, 3)
if refusal then return refusal end
local written, already = 0, 0
local conflicts = {}
for i = 1, #ARGV, 3 do
  if redis.call('SISMEMBER', ledger, ARGV[i]) == 1 then
    already = already + 1
  elseif redis.call('ZADD', set, 'NX', ARGV[i + 2], ARGV[i + 1]) == 1 then
    redis.call('SADD', ledger, ARGV[i])
    written = written + 1
  else
    conflicts[#conflicts + 1] = (i + 2) / 3
  end
end
redis.call('PERSIST', ledger)
local reply = { written, already }
for _, position in ipairs(conflicts) do reply[#reply + 1] = position end
return reply
