--[[
  A resumed transfer's plan, holding the run's lock (core/workflow/older-starts.ts: the counts its
  one walk of the keyspace found) deletes the pass counts (core/transfer/transfer-keys.ts originalsKey) that an earlier
  start of the run left: a process killed between a pass's last acknowledge and the `DEL` that ends
  the pass (queue-transfer.ts endPass, selective-queue-transfer.ts, set-transfer.ts: its own round
  trip) leaves the count, no expiry; when the queue is empty by then, the resumed run has no item
  for it (its plan lists the queue lists that exist) and nothing else would ever delete it. The
  re-route's records, of another format, are forgetOlderPasses-n1.lua's.

  Only while the run's lock is still this start's, exactly (lib/run-generation.lua plannerLost): a
  later start of the run keeps every count. Only a count of another generation than this start's:
  one of its own is its own pass's (left by an item of this start that failed; a resume, a later
  start, ends it in turn). A count of an earlier generation is read by nothing of this start (a
  pass's first claim takes only its own generation's: claimQueueJobs-14.lua, claimSetEntries-16.lua
  ARGV 'start', claimSelectedQueueJobs-11.lua, selective-set-transfer.ts startCursor) and the
  earlier start's claims are refused now that this start holds the lock (lib/claim-lock.lua).

  The three formats' first lines all end with the generation that wrote them, after one space:
    `<originals not claimed yet> <generation>`          (claimQueueJobs-14.lua, claimSetEntries-16.lua;
                                                          a whole-queue pass's goes on after a
                                                          newline with its mark, a job's bytes, which
                                                          may end with anything: only the first line
                                                          is compared)
    `<length at the start> <claimed since> <generation>` (claimSelectedQueueJobs-11.lua; an append
                                                          pass's goes on after a newline with its mark)
    `<highest score at the start> <generation>`          (selective-set-transfer.ts startCursor)
  A generation holds at most one space (`<plannedAt> <plannedBy>`, core/redis/generation-arg.ts),
  so a count whose first line ends with ` <this generation>` is this start's; any other is an
  earlier one's. (-n1 compared the whole value: it took an append pass's own count, mark and all,
  for an earlier start's.)

  KEYS[1]   the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[2…]  the run's pass counts found (strings, `<prefix>sidekiq-migrate:<run>:originals:<key>`)
  ARGV[1]   the run's id
  ARGV[2]   when this start planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[3]   the execution that planned (plannedBy), or '' (none)
  ARGV[4]   this start's generation as the counts carry it (core/redis/generation-arg.ts); ''
            (an older version's start): nothing deleted

  Returns  { 1, n } n counts deleted; { 3, lock record } another start of the run holds the lock,
           { 4, lock record } another run's or unreadable, { 4 } gone: nothing deleted

  Refused before any write (guards.lua) when KEYS[1] or a count is not a string. Only GET and DEL:
  commands a run's user is already checked for (command-permissions.ts).
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local checks = { { KEYS[1], 'TYPE', 'GET' } }
for i = 2, #KEYS do checks[#checks + 1] = { KEYS[i], 'TYPE', 'GET', 'DEL' } end
local refused = refusedCommand(checks)
if refused then return refused end
local types = {}
for i = 1, #KEYS do types[i] = { KEYS[i], 'string' } end
local refusal = wrongType(types)
if refusal then return refusal end
local lost = plannerLost(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) -- lib/run-generation.lua
if lost then return lost end
local own = ' ' .. (ARGV[4] or '')
if own == ' ' then return { 1, 0 } end
local deleted = 0
for i = 2, #KEYS do
  local count = redis.call('GET', KEYS[i])
  local first = count and string.match(count, '^[^\n]*')
  if first and string.sub(first, -#own) ~= own then
    redis.call('DEL', KEYS[i])
    deleted = deleted + 1
  end
end
return { 1, deleted }
