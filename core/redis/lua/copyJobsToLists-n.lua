--[[
  Writes claimed jobs to the target's queues, each at most once per run: a job is pushed only
  if its id was not yet in the run's ledger. Re-sending the same batch after a crash (copied,
  not yet acknowledged on the source) therefore writes nothing twice.

  KEYS[1]      the run's ledger for this source queue: a set of the ids of the claimed entries
               written (core/transfer/ledger-id.ts), with a TTL
  KEYS[2]      the target's set of queue names (queues)
  KEYS[3..]    destination lists on the target
  ARGV[1]      ledger time to live in seconds
  ARGV[2]      'RPUSH' (ahead of the target's backlog) or 'LPUSH' (behind it)
  ARGV[3]      D, the number of destination keys
  ARGV[4..3+D] their queue names, in KEYS order, added to `queues` when they receive a job
  then         triples: the claimed entry's ledger id (`<batch>:<position>`), payload,
               destination index (1-based)

  Returns      { already, written_1, …, written_D }: jobs the ledger says were written before (a
               retried or resumed batch), and jobs pushed to each destination
]]
local ledger, queues = KEYS[1], KEYS[2]
local push = ARGV[2]
if push ~= 'RPUSH' and push ~= 'LPUSH' then
  return redis.error_reply('ERR copyJobsToLists: ARGV[2] must be RPUSH or LPUSH')
end
local destinations = tonumber(ARGV[3])
local already = 0
local written = {}
for d = 1, destinations do written[d] = 0 end
for i = 4 + destinations, #ARGV, 3 do
  local id, payload, dest = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if redis.call('SADD', ledger, id) == 1 then
    redis.call(push, KEYS[2 + dest], payload)
    written[dest] = written[dest] + 1
  else
    already = already + 1
  end
end
local reply = { already }
for d = 1, destinations do
  if written[d] > 0 then redis.call('SADD', queues, ARGV[3 + d]) end
  reply[d + 1] = written[d]
end
redis.call('EXPIRE', ledger, ARGV[1])
return reply
