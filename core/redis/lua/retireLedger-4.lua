--[[
  The target's two halves of retiring a run's ledger (core/transfer/retire-ledger.ts): giving it
  its TTL once nothing it records can be in flight on the source. The source's half (EXISTS of the
  in-flight key) runs on another server, between these two: 'look' before it, 'retire' after it,
  and 'retire' gives the TTL only when the ledger is exactly as 'look' saw it — no TTL, the same
  type, the same number of entries, the entry 'look' picked still in it. A copy records a batch
  claimed after the source's look under a new entry (each batch has a new random id, ledger-id.ts:
  a new field of a queue's ledger, new ids in a set's) and takes any TTL off (PERSIST): so a
  ledger that 'retire' finds unchanged records no batch claimed since, and every batch claimed
  before was acknowledged already (the source's look found no in-flight key), all of its jobs
  written. A write that only raises a queue batch's number (copyJobsToLists-n4.lua) writes jobs of
  a batch that was in flight, never after its acknowledge (then every job of it is counted).
  Entries are never removed from a ledger, which only goes whole (its TTL, eviction: only with a
  TTL, so only after a retire); the picked entry tells a ledger re-created meanwhile from the one seen.

  A ledger is a hash (a queue's: batch id → jobs written) or a set (a set's ids, and a queue's
  made by an older version: ledger-id.ts).

  The target's index of ledgers that may have no TTL (KEYS[2], core/transfer/ledger-index.ts: the
  copy scripts add a ledger's name before they write it) loses the ledger's name here, in the same
  call as what makes it true: 'retire' when it gives the TTL, 'look' when the ledger has a TTL
  already or is gone. A copy after that PERSISTs it and adds the name again, in its own call: so a
  ledger without a TTL is never missing from the index.

  KEYS[1]  the run's ledger for one source key (on the target)
  KEYS[2]  the target's index of ledgers (a set of ledger key names)
  ARGV[1]  'look' or 'retire'
  ARGV[2]  retire: the TTL to give, in seconds
  ARGV[3]  retire: the number of entries 'look' saw
  ARGV[4]  retire: the entry 'look' picked
  ARGV[5]  retire: the type 'look' saw ('hash' or 'set')

  Refused before any write (guards.lua), nothing written, when the index is not a set.

  Returns  look:   { PTTL (-1: none; -2: no ledger), number of entries, type, one entry (none when
                   empty) }; nothing to retire unless the PTTL is -1 and there is an entry: nothing
                   written but the ledger's name taken out of the index when the PTTL is not -1
           retire: 1 the TTL given (and the name out of the index); 0 the ledger changed since 'look' (or is not of that type, or
                   has a TTL already): nothing written
]]
local mode = ARGV[1]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'HLEN', 'SCARD', 'PTTL', 'HRANDFIELD', 'SRANDMEMBER', 'HEXISTS', 'SISMEMBER', 'EXPIRE' }, { KEYS[2], 'TYPE', 'SREM' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[2], 'set' } })
if refusal then return refusal end
local kind = redis.call('TYPE', KEYS[1])['ok']
local function size()
  if kind == 'hash' then return redis.call('HLEN', KEYS[1]) end
  return redis.call('SCARD', KEYS[1])
end
if mode == 'look' then
  -- A ledger with a TTL, or none, needs no name in the index: one written again gets it back.
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl ~= -1 then redis.call('SREM', KEYS[2], KEYS[1]) end
  if kind ~= 'set' and kind ~= 'hash' then return { pttl, 0, kind } end
  local n = size()
  local entry = kind == 'hash' and redis.call('HRANDFIELD', KEYS[1]) or redis.call('SRANDMEMBER', KEYS[1])
  if entry then return { pttl, n, kind, entry } end
  return { pttl, n, kind }
elseif mode == 'retire' then
  -- EXPIRE of 0 or less deletes the ledger: version 3 given one said 1 (the TTL given) with the
  -- ledger gone, its entries' record of what was written lost (guards.lua badTtl: 1 to 10^15 s).
  local badTtlReply = badTtl('retireLedger', 2)
  if badTtlReply then return badTtlReply end
  if kind ~= ARGV[5] or (kind ~= 'set' and kind ~= 'hash') then return 0 end
  if redis.call('PTTL', KEYS[1]) ~= -1 then return 0 end
  if size() ~= tonumber(ARGV[3]) then return 0 end
  local there = kind == 'hash' and redis.call('HEXISTS', KEYS[1], ARGV[4]) or redis.call('SISMEMBER', KEYS[1], ARGV[4])
  if there == 0 then return 0 end
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('SREM', KEYS[2], KEYS[1])
  return 1
end
return redis.error_reply('ERR retireLedger: ARGV[1] must be look or retire')
