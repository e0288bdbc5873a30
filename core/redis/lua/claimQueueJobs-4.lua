--[[
  Claims up to N jobs of a Sidekiq queue into this run's in-flight list on the same Redis, in
  one atomic step: from then on no fetcher can take them, and until they are acknowledged no
  crash can lose them (each is in exactly one of the two lists at every instant).

  Every in-flight batch gets an id, new when the in-flight list starts empty, kept while it holds
  jobs: the ledger identifies a job by (batch, position in the batch), so that two jobs with the
  same jid, or even the same bytes, are two jobs, and a retried batch is the same batch. The id is
  a random one the caller proposes: no counter has to outlive the run on the old Redis.

  A slice's claim goes out as several of these calls, in order, in one pipeline
  (core/transfer/claim-calls.ts), so that no call keeps every client of the Redis waiting for
  long. Call k > 1 claims only if call k - 1 of the same slice claimed its full share and nothing
  else changed the in-flight list since: the calls' claims then form one run of positions of one
  batch, exactly what one call would have claimed. Otherwise (call k - 1 ran out of jobs, failed,
  or another attempt of the run claimed or acknowledged in between) it writes nothing and says so:
  a failed call never lets a later one claim past it, and 'newest' never claims a job that arrived
  above the window. The chain is kept in a small key (KEYS[4]), deleted by the slice's last call.

  KEYS[1]  the queue (list, queue:NAME)
  KEYS[2]  the run's in-flight list for that queue (outside queue:*, so nothing fetches it)
  KEYS[3]  the in-flight batch's id (deleted with the in-flight list when acknowledged)
  KEYS[4]  the slice's claim chain: '<slice token>:<k>:<batch id>:<in-flight length>' after its
           call k claimed its full share (a string with a TTL; only a slice of several calls
           writes it)
  ARGV[1]  N, the most jobs this call claims
  ARGV[2]  'newest' to take the newest of the jobs the queue held when its transfer started (for
           front placement on the target) or 'oldest' to take from the consumer end (RPOP; for
           append placement)
  ARGV[3]  a new batch id (random), used only if the in-flight list starts a new batch
  ARGV[4]  'newest': how many of the jobs the queue held when its transfer started are not claimed
           yet, counting this slice's earlier calls as full. They are the oldest that many
           (producers push at the other end), so jobs pushed since, which sit above them, stay
           where they are and the window below them is claimed (LSET markers, one LREM): a
           producer still pushing cannot crowd out an original. 'oldest': ignored
  ARGV[5]  the slice's token (random); '' when the slice is this one call
  ARGV[6]  k, this call's place in the slice (1-based)
  ARGV[7]  'last' for the slice's last call, else ''
  ARGV[8]  the chain's time to live in ms (it only has to outlive one pipeline)

  The in-flight list keeps claim order, first claimed leftmost. It may already hold jobs that an
  interrupted attempt claimed but did not acknowledge: call 1 returns them too, first, and they
  keep their positions (new claims are appended). A later call returns only what it claimed.

  Returns  { newly claimed count, or -1 when the chain did not hold (nothing written),
           batch id ('' when nothing is in flight),
           the index in the in-flight list of the first payload returned (0 for call 1),
           payloads in claim order… }

  Refused before any write (guards.lua), nothing claimed, when the queue or the in-flight key is
  not a list or the batch id or the chain not a string.
]]
local source, inflight, batchKey, chain = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local refusal = wrongType({ { source, 'list' }, { inflight, 'list' }, { batchKey, 'string' }, { chain, 'string' } })
if refusal then return refusal end
local newest = ARGV[2] == 'newest'
local token, k, last = ARGV[5], tonumber(ARGV[6]), ARGV[7] == 'last'
local batch = redis.call('GET', batchKey)
local before = redis.call('LLEN', inflight)
if k > 1 and redis.call('GET', chain) ~= token .. ':' .. (k - 1) .. ':' .. (batch or '') .. ':' .. before then
  return { -1, batch or '', before }
end
local claimed = 0
local want = tonumber(ARGV[1])
local jobs = {}
-- Where the claim starts, counted from the head: 0, unless jobs arrived above the window.
local top = 0
if newest then
  -- Jobs above the not-yet-claimed originals arrived during the transfer: they stay where they are.
  local length = redis.call('LLEN', source)
  local originals = math.min(tonumber(ARGV[4]), length)
  top = length - originals
  want = math.min(want, originals)
end
if top > 0 then
  -- The window just below them, newest first: each overwritten in place (LSET at an index just
  -- read, so it cannot fail) with a marker no job equals (it starts with our prefix, a job is a
  -- JSON object), then one LREM from the head removes exactly the markers. Inside Redis the cost is
  -- O(arrivals) comparisons, which every call of a slice pays again, not two Lua calls per arrival.
  if want > 0 then
    local marker = 'sidekiq-migrate:claim-marker:' .. ARGV[3] .. ':' .. token .. ':' .. k
    jobs = redis.call('LRANGE', source, top, top + want - 1)
    for i = 1, #jobs do redis.call('LSET', source, top + i - 1, marker) end
    redis.call('LREM', source, #jobs, marker)
    variadic('RPUSH', inflight, jobs)
    claimed = #jobs
  end
elseif want > 0 then
  -- One pop of `want` (in pop order, as `want` pops one by one; nil when the queue is empty) and
  -- one variadic push (lib/variadic.lua), not two calls per job.
  jobs = redis.call(newest and 'LPOP' or 'RPOP', source, want) or {}
  variadic('RPUSH', inflight, jobs)
  claimed = #jobs
end
if not batch and before + claimed > 0 then
  batch = ARGV[3]
  redis.call('SET', batchKey, batch)
end
if token ~= '' then
  if not last and claimed == tonumber(ARGV[1]) then
    redis.call('SET', chain, token .. ':' .. k .. ':' .. (batch or '') .. ':' .. (before + claimed), 'PX', ARGV[8])
  elseif k > 1 then
    redis.call('DEL', chain)
  end
end
-- Call 1 returns what an interrupted attempt left in flight too; later calls only their claims.
local reply = (k == 1 and before > 0) and redis.call('LRANGE', inflight, 0, -1) or jobs
table.insert(reply, 1, k == 1 and 0 or before)
table.insert(reply, 1, batch or '')
table.insert(reply, 1, claimed)
return reply
