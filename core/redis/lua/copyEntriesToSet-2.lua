--[[
  Writes claimed sorted-set entries to the same set on the target, each at most once per run
  (see copyJobsToLists-n.lua for why a ledger and not the set itself: the entry may have been
  polled, run and even re-added on the target since the first copy).

  KEYS[1]  the run's ledger for this source set: a set of the ids of the claimed entries written,
           with a TTL
  KEYS[2]  the target sorted set
  ARGV[1]  ledger time to live in seconds
  then     triples: the claimed entry's ledger id (`<batch>:<sha1 of the member>`, see
           core/transfer/ledger-id.ts), member, score (as claimed: the same double)

  Returns  { written, already }: entries added now, and entries the ledger says were written
           before (a retried or resumed batch)
]]
local ledger, set = KEYS[1], KEYS[2]
local written, already = 0, 0
for i = 2, #ARGV, 3 do
  if redis.call('SADD', ledger, ARGV[i]) == 1 then
    redis.call('ZADD', set, ARGV[i + 2], ARGV[i + 1])
    written = written + 1
  else
    already = already + 1
  end
end
redis.call('EXPIRE', ledger, ARGV[1])
return { written, already }
