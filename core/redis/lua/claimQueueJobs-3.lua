--[[
  Claims up to N jobs of a Sidekiq queue into this run's in-flight list on the same Redis, in
  one atomic step: from then on no fetcher can take them, and until they are acknowledged no
  crash can lose them (each is in exactly one of the two lists at every instant).

  Every in-flight batch gets an id, new when the in-flight list starts empty, kept while it holds
  jobs: the ledger identifies a job by (batch, position in the batch), so that two jobs with the
  same jid, or even the same bytes, are two jobs, and a retried batch is the same batch. The id is
  a random one the caller proposes: no counter has to outlive the run on the old Redis.

  KEYS[1]  the queue (list, queue:NAME)
  KEYS[2]  the run's in-flight list for that queue (outside queue:*, so nothing fetches it)
  KEYS[3]  the in-flight batch's id (deleted with the in-flight list when acknowledged)
  ARGV[1]  N, the most jobs to claim
  ARGV[2]  'newest' to take the newest of the jobs the queue held when its transfer started (for
           front placement on the target) or 'oldest' to take from the consumer end (RPOP; for
           append placement)
  ARGV[3]  a new batch id (random), used only if the in-flight list starts a new batch
  ARGV[4]  'newest' only: how many of the jobs the queue held when its transfer started are not
           claimed yet. They are the oldest that many (producers push at the other end), so jobs
           pushed since, which sit above them, are lifted off, the window below is claimed, and
           they are put back as they were: a producer still pushing cannot crowd out an original.

  The in-flight list keeps claim order, first claimed leftmost. It may already hold jobs that an
  interrupted attempt claimed but did not acknowledge; they are returned too, first, and keep
  their positions (new claims are appended).

  Returns  { newly claimed count, batch id ('' when nothing is in flight), every in-flight
           payload in claim order… }

  Refused before any write (guards.lua), nothing claimed, when the queue or the in-flight key is
  not a list or the batch id is not a string.
]]
local source, inflight, batchKey = KEYS[1], KEYS[2], KEYS[3]
local refusal = wrongType({ { source, 'list' }, { inflight, 'list' }, { batchKey, 'string' } })
if refusal then return refusal end
local newest = ARGV[2] == 'newest'
local batch = redis.call('GET', batchKey)
local claimed = 0
local want = tonumber(ARGV[1])
local arrivals = {}
if newest and ARGV[4] then
  -- Jobs above the not-yet-claimed originals arrived during the transfer: lift them off the head.
  local length = redis.call('LLEN', source)
  local originals = math.min(tonumber(ARGV[4]), length)
  for _ = 1, length - originals do arrivals[#arrivals + 1] = redis.call('LPOP', source) end
  want = math.min(want, originals)
end
for _ = 1, want do
  local job = redis.call(newest and 'LPOP' or 'RPOP', source)
  if not job then break end
  redis.call('RPUSH', inflight, job)
  claimed = claimed + 1
end
-- Put the arrivals back exactly as they were, newest at the head.
for i = #arrivals, 1, -1 do redis.call('LPUSH', source, arrivals[i]) end
if not batch and redis.call('EXISTS', inflight) == 1 then
  batch = ARGV[3]
  redis.call('SET', batchKey, batch)
end
local reply = redis.call('LRANGE', inflight, 0, -1)
table.insert(reply, 1, batch or '')
table.insert(reply, 1, claimed)
return reply
