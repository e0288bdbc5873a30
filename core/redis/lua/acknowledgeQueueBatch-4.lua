--[[
  Acknowledges exactly the claimed jobs a caller wrote to the target: the first ones of the
  in-flight list, up to a position, and only while it still holds the batch they were written
  from. Jobs claimed into the same batch after the caller read it (a concurrent attempt of the
  run, a retried step) are not written yet: they stay in flight, at their positions.

  The batch id value is `<id>` or `<id>+<base>`: `base` is how many jobs of the batch were
  acknowledged before, so that positions (the ledger ids `<id>:<position>`, ledger-id.ts) stay
  those of the claim while the head of the list is trimmed.

  KEYS[1]  the run's in-flight list for a queue
  KEYS[2]  the in-flight batch's id
  KEYS[3]  the source's index of in-flight keys (core/transfer/inflight-index.ts, a set of key
           names): the call that deletes the in-flight list takes its name out (SREM), in this
           call, so the index names what is in flight and no more. Only then: a claim that writes
           the list again names it again in its own call (claimQueueJobs-14.lua), and a list this
           call leaves holding jobs stays named. Names of lists gone otherwise are left to
           forgetGoneInflightKeys-1.lua.
  ARGV[1]  the batch id the caller wrote from (without `+base`)
  ARGV[2]  the position after the last job the caller wrote (base + the number of jobs it read)

  Refused before any write (guards.lua) when a key holds another type.

  Returns  { acknowledged, left in flight }: nothing is acknowledged when the batch is gone or is
           another one (a concurrent attempt acknowledged ours already)
]]
local inflight, batchKey, index = KEYS[1], KEYS[2], KEYS[3]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { inflight, 'TYPE', 'LLEN', 'DEL', 'LTRIM' }, { batchKey, 'TYPE', 'GET', 'DEL', 'SET' }, { index, 'TYPE', 'SREM' } })
if refused then return refused end
local refusal = wrongType({ { inflight, 'list' }, { batchKey, 'string' }, { index, 'set' } })
if refusal then return refusal end
local current = redis.call('GET', batchKey)
if not current then return { 0, redis.call('LLEN', inflight) } end
local id, base = string.match(current, '^(.-)%+(%d+)$')
if not id then id, base = current, 0 end
base = tonumber(base)
if id ~= ARGV[1] then return { 0, redis.call('LLEN', inflight) } end
local n = tonumber(ARGV[2]) - base
local held = redis.call('LLEN', inflight)
if n <= 0 then return { 0, held } end
if n >= held then
  redis.call('DEL', inflight, batchKey)
  -- The list is gone (deleted just above): its name goes too.
  redis.call('SREM', index, inflight)
  return { held, 0 }
end
redis.call('LTRIM', inflight, n, -1)
redis.call('SET', batchKey, id .. '+' .. (base + n))
return { n, held - n }
