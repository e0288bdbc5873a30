--[[
  Acknowledges exactly the claimed entries a caller handled, while the in-flight set still holds
  the batch it read them from: entries written to the target (now or before) leave the in-flight
  set; conflicts (their bytes already in the target set, copyEntriesToSet-6.lua) go back to the
  source set with their score, and are recorded so that this run does not claim them again.
  Entries claimed into the batch after the caller read it stay in flight.

  The ledger knows an entry by its batch and bytes (`<batch>:<sha1>`, ledger-id.ts). While the
  in-flight set outlives this call (entries of the batch are left: another attempt's claims, a
  conflict kept in flight), the written entries it removed are recorded under those ids (KEYS[6]):
  a claim steps over an entry of the same bytes while the batch lives
  (claimSetEntries-16.lua), since the ledger would take it for the one written and it would be
  acknowledged without ever reaching the target. The call that empties the in-flight set deletes
  the record with the batch id.

  A conflict whose exact bytes are back on the source meanwhile (ZADD NX adds nothing) stays in
  flight: adding it would merge two jobs into one. The next attempt tries again.

  A sealed acknowledge (ARGV[4]) sends no member: a slice whose every entry was written (now or
  before) and none conflicted names the seal its claim left (claimSetEntries-16.lua), and the whole
  in-flight set is deleted if the seal is still exactly that and the in-flight set still has the
  size it names: then it holds exactly the slice's entries (every script that adds to it replaces
  or deletes the seal, only an acknowledge removes from it), and deleting it is what removing each
  of them would do. Otherwise nothing is written, and the caller sends the members (-1 below).

  KEYS[1]  the run's in-flight sorted set
  KEYS[2]  the in-flight batch's id
  KEYS[3]  the source sorted set
  KEYS[4]  the run's record of conflicts given back (a set of SHA-1 digests, read by the claim)
  KEYS[5]  the in-flight set's seal (claimSetEntries-16.lua), deleted with the in-flight set
  KEYS[6]  the batch's record of written entries acknowledged while entries of it stayed in flight
           (a set of their ledger ids, `<batch>:<sha1>`), deleted with the in-flight set
  KEYS[7]  the source's index of in-flight keys (core/transfer/inflight-index.ts, a set of key
           names): the call that leaves the in-flight set gone (deleted or emptied) takes its name
           out (SREM), in this call, so the index names what is in flight and no more. Only then: a
           claim that writes the set again names it again in its own call (claimSetEntries-16.lua,
           claimSelectedSetEntries-11.lua), and a set this call leaves holding entries stays named.
           Names of sets gone otherwise are left to forgetGoneInflightKeys-1.lua.
  ARGV[1]  the batch id the caller read the entries from
  ARGV[2]  the record's time to live in seconds (evicting it only lets the run claim a conflict again);
           a whole number > 0, else an error, nothing written
  ARGV[3]  W, the number of written entries that follow
  ARGV[4]  '' or, for a sealed acknowledge (no member follows), the seal '<slice token>:<size>'
  then     W written members (as claimed), then the conflicts' members (as claimed)

  Refused before any write (guards.lua) when a key holds another type.

  Returns  { acknowledged, given back, left in flight }; for a sealed acknowledge whose seal does
           not hold, { -1, 0, in flight } (nothing written)
]]
local inflight, batchKey, source, conflicts, seal, acked, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { inflight, 'TYPE', 'ZCARD', 'DEL', 'ZMSCORE', 'ZREM', 'ZSCORE' }, { batchKey, 'TYPE', 'GET', 'DEL' }, { source, 'TYPE', 'ZADD' },
  { conflicts, 'TYPE', 'SADD', 'EXPIRE' }, { seal, 'TYPE', 'GET', 'DEL' }, { acked, 'TYPE', 'DEL', 'SADD' }, { index, 'TYPE', 'SREM' } })
if refused then return refused end
local refusal = wrongType({ { inflight, 'zset' }, { batchKey, 'string' }, { source, 'zset' }, { conflicts, 'set' }, { seal, 'string' }, { acked, 'set' }, { index, 'set' } })
if refusal then return refusal end
-- EXPIRE refuses such a time to live after the call's first ZREM (or, 0 or less, deletes the record
-- of conflicts): version 8 acknowledged, then failed there; version 9 let a whole number above
-- EXPIRE's bound (~9.2e15 s) through to the same end (guards.lua badTtl: 1 to 10^15).
local badTtlReply = badTtl('acknowledgeSetBatch', 2)
if badTtlReply then return badTtlReply end
if redis.call('GET', batchKey) ~= ARGV[1] then return { 0, 0, redis.call('ZCARD', inflight) } end
local sealed = ARGV[4]
if sealed ~= '' then
  local size = redis.call('ZCARD', inflight)
  local named = tonumber(string.match(sealed, ':(%d+)$'))
  if #ARGV > 4 or named == nil or named ~= size or redis.call('GET', seal) ~= sealed then return { -1, 0, size } end
  redis.call('DEL', inflight, batchKey, seal, acked)
  -- The set is gone (deleted just above): its name goes too.
  redis.call('SREM', index, inflight)
  return { size, 0, 0 }
end
local w = tonumber(ARGV[3])
local acknowledged, givenBack = 0, 0
local written = {}
for i = 5, 4 + w do written[#written + 1] = ARGV[i] end
-- The written entries in flight now: those this call removes (their ids are recorded below).
local inflightNow = variadicArray('ZMSCORE', inflight, written)
-- One variadic ZREM (lib/variadic.lua); it counts what it removed, as one ZREM per entry would.
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
if left == 0 then
  redis.call('DEL', batchKey, seal, acked)
  -- The set is gone (Redis deletes an empty sorted set): its name goes too.
  redis.call('SREM', index, inflight)
else
  -- The batch lives on: the ids of the written entries removed are recorded (KEYS[6], above). A
  -- SADD after the script's first write is not refused for memory (Redis never stops a script
  -- midway for it), and the key's type was checked first.
  local removed, seen = {}, {}
  for i = 1, #written do
    if inflightNow[i] and not seen[written[i]] then
      seen[written[i]] = true
      removed[#removed + 1] = ARGV[1] .. ':' .. redis.sha1hex(written[i])
    end
  end
  variadic('SADD', acked, removed)
end
return { acknowledged, givenBack, left }
