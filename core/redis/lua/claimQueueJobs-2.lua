--[[
  Claims up to N jobs of a Sidekiq queue into this run's in-flight list on the same Redis, in
  one atomic step: from then on no fetcher can take them, and until they are acknowledged no
  crash can lose them (each is in exactly one of the two lists at every instant).

  KEYS[1]  the queue (list, queue:NAME)
  KEYS[2]  the run's in-flight list for that queue (outside queue:*, so nothing fetches it)
  ARGV[1]  N, the most jobs to claim
  ARGV[2]  'newest' to take from the producer end (LPOP; for front placement on the target) or
           'oldest' to take from the consumer end (RPOP; for append placement)

  The in-flight list keeps claim order, first claimed leftmost. It may already hold jobs that an
  interrupted attempt claimed but did not acknowledge; they are returned too, first.

  Returns  { newly claimed count, every in-flight payload in claim order… }
]]
local source, inflight = KEYS[1], KEYS[2]
local pop = ARGV[2] == 'newest' and 'LPOP' or 'RPOP'
local claimed = 0
for _ = 1, tonumber(ARGV[1]) do
  local job = redis.call(pop, source)
  if not job then break end
  redis.call('RPUSH', inflight, job)
  claimed = claimed + 1
end
local reply = redis.call('LRANGE', inflight, 0, -1)
table.insert(reply, 1, claimed)
return reply
