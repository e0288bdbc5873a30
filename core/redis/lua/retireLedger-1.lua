--[[
  The target's two halves of retiring a run's ledger (core/transfer/retire-ledger.ts): giving it
  its TTL once nothing it records can be in flight on the source. The source's half (EXISTS of the
  in-flight key) runs on another server, between these two: 'look' before it, 'retire' after it,
  and 'retire' gives the TTL only when the ledger is exactly as 'look' saw it — no TTL, the same
  number of ids, the id 'look' picked still in it. A copy records the ids of a batch claimed after
  the source's look as new ids (each batch has a new random id, ledger-id.ts) and takes any TTL
  off (PERSIST): so a ledger that 'retire' finds unchanged records no batch claimed since, and
  every batch claimed before was acknowledged already (the source's look found no in-flight key).
  Ids are never removed from a ledger, which only goes whole (its TTL, eviction: only with a TTL,
  so only after a retire); the picked id tells a ledger re-created meanwhile from the one seen.

  KEYS[1]  the run's ledger for one source key (a set of ledger ids, on the target)
  ARGV[1]  'look' or 'retire'
  ARGV[2]  retire: the TTL to give, in seconds
  ARGV[3]  retire: the number of ids 'look' saw
  ARGV[4]  retire: the id 'look' picked

  Returns  look:   { PTTL (-1: none; -2: no ledger), number of ids, one id (none when empty) };
                   nothing to retire unless the PTTL is -1 and there is an id: nothing written
           retire: 1 the TTL given; 0 the ledger changed since 'look' (or is not a set, or has a
                   TTL already): nothing written
]]
local mode = ARGV[1]
if mode == 'look' then
  if redis.call('TYPE', KEYS[1])['ok'] ~= 'set' then return { redis.call('PTTL', KEYS[1]), 0 } end
  local pttl, size = redis.call('PTTL', KEYS[1]), redis.call('SCARD', KEYS[1])
  local id = redis.call('SRANDMEMBER', KEYS[1])
  if id then return { pttl, size, id } end
  return { pttl, size }
elseif mode == 'retire' then
  if redis.call('TYPE', KEYS[1])['ok'] ~= 'set' then return 0 end
  if redis.call('PTTL', KEYS[1]) ~= -1 then return 0 end
  if redis.call('SCARD', KEYS[1]) ~= tonumber(ARGV[3]) then return 0 end
  if redis.call('SISMEMBER', KEYS[1], ARGV[4]) == 0 then return 0 end
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return redis.error_reply('ERR retireLedger: ARGV[1] must be look or retire')
