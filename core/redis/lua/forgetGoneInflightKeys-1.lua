--[[
  Takes out of a source's index of in-flight keys (core/transfer/inflight-index.ts) the names of
  in-flight keys that no longer exist: an in-flight key is gone once its last job or entry was
  acknowledged or given back (Redis deletes an empty list or sorted set); the acknowledge that
  does it takes the name out itself (acknowledgeQueueBatch-4.lua, acknowledgeSetBatch-10.lua), an
  older version's did not, and the claims that add names never take them out. Each name is looked at and taken out in this one call, so a name is
  never taken out while its key exists: a claim that writes the key again adds its name again in
  its own call (claimQueueJobs-14.lua and the other claims). Safe at any time, by any run: it
  takes out only what names nothing. The index's mark (`walked`, not a key this version writes:
  each in-flight key begins with the prefix and `sidekiq-migrate:`) is never passed here.

  KEYS[1]   the index (a set of in-flight key names, `<prefix>sidekiq-migrate:inflight-keys`)
  KEYS[2…]  names the index holds (as SMEMBERS read them), each an in-flight key or none

  Returns  the number of names taken out

  Refused before any write (guards.lua), nothing written, when the index is not a set.
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local checks = { { KEYS[1], 'TYPE', 'SREM' } }
for i = 2, #KEYS do checks[#checks + 1] = { KEYS[i], 'EXISTS' } end
local refused = refusedCommand(checks)
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'set' } })
if refusal then return refusal end
-- EXISTS on every name first (a read): the names to take out, then one SREM.
local gone = {}
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then gone[#gone + 1] = KEYS[i] end
end
if #gone == 0 then return 0 end
return redis.call('SREM', KEYS[1], unpack(gone))
