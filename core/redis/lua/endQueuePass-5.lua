--[[
  Ends a queue re-route's pass (core/reroute/queue-slice.ts countArrivals): its record
  (core/reroute/pass-record.ts) leaves its own key for a field of the run's page receipts, and the
  queue's length is read for the arrivals' count, in one atomic step.

  Why not a DEL: when this call ran but its reply was lost, the task failed and was retried with
  its input; for the pass's first slice that input has no cursor, and with the record gone the
  retry began the pass again from the queue's length, jobs pushed meanwhile included (moved as
  originals, the first attempt's moves in no count). The retry now finds the record in the
  receipts (pass-record.ts passStart), which the run's last summary deletes with them
  (summarize-step.ts), or which expire with them an hour after a stopped or failed run's last page.

  A pass that has no record (its slices sent no call: nothing was left to move when its task read
  the queue) still leaves its end there: `- 0 0 <generation>` and an empty count line, no record
  (pass-record.ts passStart reads it as none). rerouteQueueJobs-n4.lua writes a pass's record only
  while the receipts hold no end of this generation's pass: with no end written, an attempt of the
  pass's task that Step Functions gave up on, which read the queue before a worker fetched the job
  it meant to move, wrote the record after the pass ended, a key with no expiry
  (test/redis/reroute/pass-end-without-record.test.ts).

  Run again (a retry of the task that finds the ended pass in the receipts ends it again, its
  arrivals counted anew: queue-slice.ts rerouteQueue), it finds no record under KEYS[1] and keeps
  the end this generation's pass already has in the receipts. Version 3 wrote the end of a pass
  with no record over it: when that retry's reply was lost too, the next attempt found no record
  and began the pass again from the queue's length, moving what was pushed meanwhile as originals
  (test/workflow/reroute-lost-pass-end.test.ts 'lost twice').

  KEYS[1]  the pass's record (a string, `<prefix>sidekiq-migrate:<run>:originals:queue:NAME`)
  KEYS[2]  the run's page receipts (a hash, core/workflow/page-receipt.ts)
  KEYS[3]  the queue (a list, queue:NAME)
  ARGV[1]  the receipts' field for the ended pass's record (pass-record.ts passEndField)
  ARGV[2]  the receipts' time to live in seconds (page-receipt.ts PAGE_RECEIPTS_TTL_SECONDS)
  ARGV[3]  this execution's generation (core/redis/generation-arg.ts: no newline), for the end of a
           pass with no record

  Returns  the queue's length

  Refused before any write (guards.lua) when KEYS[1] is not a string, KEYS[2] not a hash or
  KEYS[3] not a list, or ARGV[3] is missing; an error, nothing written, when ARGV[2] is not a whole
  number of seconds > 0. Only GET, HGET, HSET, EXPIRE, DEL and LLEN: commands a run's user is already
  checked for (command-permissions.ts).
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'GET', 'DEL' }, { KEYS[2], 'TYPE', 'HGET', 'HSET', 'EXPIRE' }, { KEYS[3], 'TYPE', 'LLEN' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' }, { KEYS[2], 'hash' }, { KEYS[3], 'list' } })
if refusal then return refusal end
if string.find(ARGV[3] or '\n', '\n', 1, true) then return redis.error_reply('ERR endQueuePass: ARGV[3] must be the generation (no newline)') end
-- EXPIRE refuses such a time to live after the HSET (or, 0 or less, deletes the receipts); version 4
-- let a whole number above EXPIRE's bound (~9.2e15 s) through (guards.lua badTtl: 1 to 10^15).
local badTtlReply = badTtl('endQueuePass', 2)
if badTtlReply then return badTtlReply end
local record = redis.call('GET', KEYS[1])
-- No record here: the end of this generation's pass already in the receipts (its first line
-- '<token> <k> <examined> <generation>', pass-record.ts parseRecord) stays as it is.
local ended = not record and redis.call('HGET', KEYS[2], ARGV[1])
local endedBy = ended and string.match(ended, '^%S+ %d+ %d+ ([^\n]*)')
if endedBy ~= ARGV[3] then redis.call('HSET', KEYS[2], ARGV[1], record or ('- 0 0 ' .. ARGV[3] .. '\n\n')) end
redis.call('EXPIRE', KEYS[2], ARGV[2])
if record then redis.call('DEL', KEYS[1]) end
return redis.call('LLEN', KEYS[3])
