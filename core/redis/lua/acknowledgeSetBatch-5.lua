--[[
  Acknowledges exactly the claimed entries a caller handled, while the in-flight set still holds
  the batch it read them from: entries written to the target (now or before) leave the in-flight
  set; conflicts (their bytes already in the target set, copyEntriesToSet-3.lua) go back to the
  source set with their score, and are recorded so that this run does not claim them again.
  Entries claimed into the batch after the caller read it stay in flight.

  A conflict whose exact bytes are back on the source meanwhile (ZADD NX adds nothing) stays in
  flight: adding it would merge two jobs into one. The next attempt tries again.

  A sealed acknowledge (ARGV[4]) sends no member: a slice whose every entry was written (now or
  before) and none conflicted names the seal its claim left (claimSetEntries-8.lua), and the whole
  in-flight set is deleted if the seal is still exactly that and the in-flight set still has the
  size it names: then it holds exactly the slice's entries (every script that adds to it replaces
  or deletes the seal, only an acknowledge removes from it), and deleting it is what removing each
  of them would do. Otherwise nothing is written, and the caller sends the members (-1 below).

  KEYS[1]  the run's in-flight sorted set
  KEYS[2]  the in-flight batch's id
  KEYS[3]  the source sorted set
  KEYS[4]  the run's record of conflicts given back (a set of SHA-1 digests, read by the claim)
  KEYS[5]  the in-flight set's seal (claimSetEntries-8.lua), deleted with the in-flight set
  ARGV[1]  the batch id the caller read the entries from
  ARGV[2]  the record's time to live in seconds (evicting it only lets the run claim a conflict again)
  ARGV[3]  W, the number of written entries that follow
  ARGV[4]  '' or, for a sealed acknowledge (no member follows), the seal '<slice token>:<size>'
  then     W written members (as claimed), then the conflicts' members (as claimed)

  Refused before any write (guards.lua) when a key holds another type.

  Returns  { acknowledged, given back, left in flight }; for a sealed acknowledge whose seal does
           not hold, { -1, 0, in flight } (nothing written)
]]
local inflight, batchKey, source, conflicts, seal = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local refusal = wrongType({ { inflight, 'zset' }, { batchKey, 'string' }, { source, 'zset' }, { conflicts, 'set' }, { seal, 'string' } })
if refusal then return refusal end
if redis.call('GET', batchKey) ~= ARGV[1] then return { 0, 0, redis.call('ZCARD', inflight) } end
local sealed = ARGV[4]
if sealed ~= '' then
  local size = redis.call('ZCARD', inflight)
  local named = tonumber(string.match(sealed, ':(%d+)$'))
  if #ARGV > 4 or named == nil or named ~= size or redis.call('GET', seal) ~= sealed then return { -1, 0, size } end
  redis.call('DEL', inflight, batchKey, seal)
  return { size, 0, 0 }
end
local w = tonumber(ARGV[3])
local acknowledged, givenBack = 0, 0
-- One variadic ZREM (lib/variadic.lua); it counts what it removed, as one ZREM per entry would.
local written = {}
for i = 5, 4 + w do written[#written + 1] = ARGV[i] end
acknowledged = variadic('ZREM', inflight, written)
for i = 5 + w, #ARGV do
  local member = ARGV[i]
  local score = redis.call('ZSCORE', inflight, member)
  if score and redis.call('ZADD', source, 'NX', score, member) == 1 then
    redis.call('ZREM', inflight, member)
    redis.call('SADD', conflicts, redis.sha1hex(member))
    redis.call('EXPIRE', conflicts, ARGV[2])
    givenBack = givenBack + 1
  end
end
local left = redis.call('ZCARD', inflight)
if left == 0 then redis.call('DEL', batchKey, seal) end
return { acknowledged, givenBack, left }
