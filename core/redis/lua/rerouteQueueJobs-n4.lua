--[[
  Moves jobs out of one Sidekiq queue list, each exactly once: a job is pushed to its
  destination only if this call removed it from the source, so a consumer that popped it first,
  a concurrent run, or a crash at any moment leaves it in exactly one place.

  KEYS[1]      the source list (queue:OLD)
  KEYS[2]      the set of queue names (queues), to which every destination that receives a job
               is added, as Sidekiq's client does, so the Web UI and the API see it
  KEYS[3..2+D] destination lists: queue:NEW lists, and the quarantine list if jobs go there
  KEYS[3+D]    only when R > 0: the run's record of moves (a set, core/reroute/move-record.ts)
  then         optional, three keys: the pass's record (a string, core/reroute/pass-record.ts),
               where the queue's pass stands once this call ran; the run lock (a string,
               core/redis/run-lock.ts runLockKey); the run's page receipts (a hash,
               core/workflow/page-receipt.ts), where the pass's end keeps its record
               (endQueuePass-5.lua); given, ARGV has the P fields

  ARGV[1]      'RPUSH' to put moved jobs at the head of the destination line (they run before its
               backlog) or 'LPUSH' to append them behind it (GitLab's behaviour); the caller
               orders the jobs so that either keeps their relative order, in the quarantine too
  ARGV[2]      '1' to look for each job from the head (left, newest) of the source, '-1' from the
               tail (right, oldest); or '~BELOW:SPAN': the call's jobs lie within SPAN jobs with
               BELOW jobs between them and the tail, and LREM looks from the end nearer to them
               (jobs left in place pile up at one end: 50 LREMs walking past 100,000 of them held
               Redis for 0.3 s a call; the caller gives each call its own span, call-windows.ts)
  ARGV[3]      D, the number of destination keys
  ARGV[4..3+D] the queue name of each destination key, in KEYS order ('' for the quarantine
               list, which is not a queue and is never added to `queues`)
  ARGV[4+D]    R, the number of record members this call adds (0: the run records nothing)
  ARGV[5+D]    the record's time to live in seconds ('' when R is 0)
  ARGV[6+D..]  R record members: the distinct moves of this call's jobs, `["Class","from","to"…]`
  then         only with the pass's record (P fields, 7): the slice's token, k (this call's place
               among the slice's calls, 1-based), how many positions the pass examined after the
               slice, this execution's generation (core/redis/generation-arg.ts), the record's text,
               the run's id (the lock's runId), the receipts' field of the pass's end
               (pass-record.ts passEndField).
               Written, '<token> <k> <examined> <generation>\n<vanished> <pushed_1> … <pushed_D>\n<text>',
               after the moves, the counts those of the slice's calls so far (this one's added to
               call k - 1's), the text call 1's (call k > 1 sends '' and keeps it), by call 1
               unless the record is a later slice's of the same generation (a stale attempt never
               sets the pass back), by call k > 1 only when the record says call k - 1 of the same
               slice ran: a slice a failed call cut in two stays partial, and its retry starts from
               before it. Kept here, not only in the task's answer, because a call whose reply was
               lost moved jobs that answer never tells: the next task's window, placed by a cursor
               that did not know them (or, for a pass's first slice, by the queue's length read
               again), reached as many jobs up into what producers pushed meanwhile and moved them
               as originals.
               The record is written only while the run lock is the run's (its record names the
               run, and no later start of it: lib/claim-lock.lua lockTaken) and the pass has not
               ended (the receipts hold no end of it of this generation): a page task's attempt
               that Step Functions gave up on and that still moves after its pass or its run ended
               (a `Lambda.ServiceException`, the function still running) recreated the record, a
               key with no expiry that nothing deleted but a resume of the run (rerouteQueueJobs-n2,
               overlapping-page-attempts.test.ts). Its moves still happen, each job once
  then         quads: original bytes, bytes to push, the 1-based index of the destination key
               among KEYS[3..2+D], and the 1-based index of the job's move among the R members
               ('0' for a job whose move is not recorded: a quarantined one, or any when R is 0)

  Deep in a long list (more than DEEP jobs between the call's span and either end, as the hint
  says), one LREM a job walked past every job from that end, ~70 ns each (memory-bound: a job is a
  cache line or more): 50 of them 3.6 ms a call 50,000 jobs deep, and a re-route of a 100,000-job
  queue whose jobs mostly stay held Redis up to a second a call. There the call reads its span
  (with SLACK jobs either side, for pops and pushes at the tail since the caller read it), finds
  each job's exact bytes in it, overwrites each found one in place with a marker (LSET: a walk over
  the list's nodes, not its jobs) and removes the markers with one LREM: one walk a call, not one a
  job. A job not found there is looked for with its own LREM, as above. Which of two equal
  payloads goes is the only difference, and it cannot be seen: bytes decide.

  The record is written in the same call as the moves, after them, and names only the moves of
  jobs this call moved: a job a consumer popped first adds nothing, so a rollback never meets a
  move that did not happen (one such move of a class from a queue it did not come from made the
  rollback refuse the class's other jobs, "from several queues"). After the moves, a job still
  never moves without its record: nothing can fail once the first LSET or LREM ran (Redis refuses
  a script for memory only at its first write, and an LSET or LREM refused leaves every job where it
  was; the record is a set, checked first).

  Returns      { vanished, pushed_1, …, pushed_D }
    vanished     jobs no longer in the source (a consumer popped them first): nothing pushed
    pushed_d     jobs pushed to destination d

  Refused before any write (guards.lua), every job left as it was, when the source or a
  destination is not a list, `queues` or the record is not a set, the lock not a string, the
  receipts not a hash, one key is named both as a
  destination and as the record (or `queues`), a job's destination index names no destination
  key or its move index no record member, or R or the record's time to live is not a whole number
  (the time to live from 1 to 10^15 seconds: EXPIRE refuses more, after the removals), or the pass's
  record is not a string or its fields are not as above.
  New in -n4: that bound. -n3 took any whole number, and EXPIRE refusing it (above ~9.2e15 s:
  `invalid expire time`) failed the call after its LREMs, before its pushes: its jobs gone from the
  source, none pushed (no caller sent one: MOVES_TTL_SECONDS is 30 days; reroute-queue-jobs.test.ts).
]]
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local source, queues = KEYS[1], KEYS[2]
local push, direction = ARGV[1], tonumber(ARGV[2])
local below, span = string.match(ARGV[2], '^~(%d+):(%d+)$')
if (push ~= 'RPUSH' and push ~= 'LPUSH') or (direction ~= 1 and direction ~= -1 and not below) then
  return redis.error_reply('ERR rerouteQueueJobs: ARGV[1] must be RPUSH or LPUSH and ARGV[2] 1, -1 or ~BELOW:SPAN')
end
local destinations = tonumber(ARGV[3])
-- The run's record of moves: R members after the destinations' names, then the jobs' quads.
local recorded, recordTtl = tonumber(ARGV[4 + destinations]), tonumber(ARGV[5 + destinations])
local record = KEYS[3 + destinations]
-- The record's EXPIRE runs after the LREMs, before the pushes: a time to live it refuses (above
-- ~9.2e15 s its expiry in ms overflows) is refused here, before any write (n3 let any whole number
-- through: such a call removed its jobs and pushed none).
local MAX_RECORD_TTL_SECONDS = 1e15
if recorded == nil or recorded < 0 or recorded % 1 ~= 0 or (recorded > 0 and (record == nil or recordTtl == nil or recordTtl < 1 or recordTtl % 1 ~= 0 or recordTtl > MAX_RECORD_TTL_SECONDS)) then
  return redis.error_reply('ERR rerouteQueueJobs: ARGV[4+D] must be the number of record members, with KEYS[3+D] and a whole time to live in seconds (1 to 10^15) when it is not 0')
end
local jobsFrom = 6 + destinations + recorded
local membersFrom = 5 + destinations
-- The pass's record, the run lock and the receipts: the keys after the others, the record's 7
-- fields after the record's members.
local passAt = 3 + destinations + (recorded > 0 and 1 or 0)
local pass, lock, receipts = KEYS[passAt], KEYS[passAt + 1], KEYS[passAt + 2]
local passWrite, runId, endField
if pass then
  local token, k, examined, generation = ARGV[jobsFrom], tonumber(ARGV[jobsFrom + 1]), tonumber(ARGV[jobsFrom + 2]), ARGV[jobsFrom + 3]
  runId, endField = ARGV[jobsFrom + 5], ARGV[jobsFrom + 6]
  if not lock or not receipts or not token or not k or k < 1 or k % 1 ~= 0 or not examined or not ARGV[jobsFrom + 4] or string.find(token, '[%s]') or string.find(generation, '\n') or (k == 1 and ARGV[jobsFrom + 4] == '') or not runId or runId == '' or not endField or endField == '' then
    return redis.error_reply('ERR rerouteQueueJobs: the pass record needs the lock and receipts keys, a token, k >= 1, the positions examined, a generation, its text, the run id and the end field')
  end
  passWrite = { token .. ' ' .. k .. ' ' .. examined .. ' ' .. generation, ARGV[jobsFrom + 4], token, k, examined, generation }
  jobsFrom = jobsFrom + 7
end
-- Every command this call may run, on every key, before anything else (guards.lua).
-- Both pushes on every destination (the start-up check asks for both): one list, whatever ARGV says.
local commands = { { source, 'TYPE', 'LLEN', 'LRANGE', 'LSET', 'LREM' }, { queues, 'TYPE', 'SADD' }, { false, 'TIME' } }
for d = 1, destinations do commands[#commands + 1] = { KEYS[2 + d], 'TYPE', 'RPUSH', 'LPUSH' } end
if recorded > 0 then commands[#commands + 1] = { record, 'TYPE', 'SADD', 'EXPIRE' } end
if pass then
  commands[#commands + 1] = { pass, 'TYPE', 'GET', 'SET' }
  commands[#commands + 1] = { lock, 'TYPE', 'GET' }
  commands[#commands + 1] = { receipts, 'TYPE', 'HGET' }
end
local refused = refusedCommand(commands)
if refused then return refused end
local checks = { { source, 'list' }, { queues, 'set' } }
for d = 1, destinations do checks[#checks + 1] = { KEYS[2 + d], 'list' } end
if recorded > 0 then checks[#checks + 1] = { record, 'set' } end
if pass then
  checks[#checks + 1] = { pass, 'string' }
  checks[#checks + 1] = { lock, 'string' }
  checks[#checks + 1] = { receipts, 'hash' }
end
local refusal = wrongType(checks)
if refusal then return refusal end
-- Whether the record may be written (reads only, before any write): the run lock is this run's,
-- of no later start (lockTaken: nil), and the receipts hold no end of this generation's pass.
local passOpen = false
if pass then
  local current = redis.call('GET', lock)
  local ok, holder = pcall(cjson.decode, current or '')
  passOpen = current and ok and type(holder) == 'table' and holder.runId == runId and lockTaken(lock, runId, passWrite[6]) == nil
  if passOpen then
    local ended = redis.call('HGET', receipts, endField)
    local endedGeneration = ended and string.match(ended, '^%S+ %d+ %d+ ([^\n]*)\n')
    if endedGeneration == passWrite[6] then passOpen = false end
  end
end
local above
if below then
  -- The jobs above the window (arrivals and what the pass left at the head) against those below.
  above = redis.call('LLEN', source) - tonumber(below) - tonumber(span)
  direction = above < tonumber(below) and 1 or -1
end
-- A destination index that names no key would fail the call at its push, after its LREM, and a
-- move index that names no member the record's write: refused here, before any write, with the
-- quads that do not come whole.
if jobsFrom > #ARGV + 1 or (#ARGV - jobsFrom + 1) % 4 ~= 0 then
  return redis.error_reply('ERR rerouteQueueJobs: the jobs must come as quads')
end
-- The indexes as the caller writes them ('1', '2'…): one table lookup a job, here and below.
local index, moveIndex = {}, moveIndexes(recorded) -- lib/move-record.lua
for d = 1, destinations do index[tostring(d)] = d end
for i = jobsFrom + 2, #ARGV, 4 do
  if not index[ARGV[i]] then
    return redis.error_reply('ERR rerouteQueueJobs: destination index ' .. ARGV[i] .. ' is not one of 1..' .. destinations)
  end
  if not moveIndex[ARGV[i + 1]] then
    return redis.error_reply('ERR rerouteQueueJobs: move index ' .. ARGV[i + 1] .. ' is not one of 0..' .. recorded)
  end
end
-- Pushes go out variadically, per destination key, after the removals: one RPUSH/LPUSH with
-- many values leaves a list exactly as that many single pushes in the same order, and pushing to
-- other lists changes nothing LREM sees. A destination that is the source itself is the one
-- exception (a push there could meet a later LREM): such a call pushes each job at once.
local PUSH_VALUES = 500 -- per command: unpack stays far below Lua's limit of 8,000 values
local atOnce = false
for d = 1, destinations do
  if KEYS[2 + d] == source then atOnce = true end
end
-- Deep in the list: the jobs found in their span are taken by one walk (see the header).
local DEEP, SLACK = 256, 64
local taken = {}
if below and not atOnce and math.min(above, tonumber(below)) > DEEP then
  local lo = math.max(0, tonumber(below) - SLACK)
  local region = redis.call('LRANGE', source, -(tonumber(below) + tonumber(span) + SLACK), -(lo + 1))
  local count = #region
  -- Per payload, its tail offsets in the region, head first (region[j] is at tail offset lo + count - j).
  local at = {}
  for j = 1, count do
    local offsets = at[region[j]]
    if not offsets then
      offsets = {}
      at[region[j]] = offsets
    end
    offsets[#offsets + 1] = lo + count - j
  end
  local marker = 'sidekiq-migrate:reroute-marker:' .. table.concat(redis.call('TIME'), '.') .. ':' .. redis.sha1hex(ARGV[jobsFrom] or '')
  local marked = 0
  for i = jobsFrom, #ARGV, 4 do
    local offsets = at[ARGV[i]]
    if offsets and #offsets > 0 then
      -- The occurrence nearer the end the walk starts from, as LREM would take it.
      local offset = direction == 1 and table.remove(offsets, 1) or table.remove(offsets)
      redis.call('LSET', source, -(offset + 1), marker)
      marked = marked + 1
      taken[i] = true
    end
  end
  if marked > 0 then redis.call('LREM', source, direction * marked, marker) end
end
local vanished = 0
local pushed = {}
for d = 1, destinations do pushed[d] = 0 end
local pending, order = {}, {} -- values per destination key, in push order; keys first-seen
local happened, members = {}, {} -- the record members of the moves that happened, first-seen
for i = jobsFrom, #ARGV, 4 do
  local original, rewritten, dest = ARGV[i], ARGV[i + 1], index[ARGV[i + 2]]
  if taken[i] or redis.call('LREM', source, direction, original) == 1 then
    local m = moveIndex[ARGV[i + 3]]
    if m > 0 and not happened[m] then noteMove(happened, members, m, ARGV[membersFrom + m]) end
    local key = KEYS[2 + dest]
    if atOnce then
      redis.call(push, key, rewritten)
    else
      local values = pending[key]
      if not values then
        values = {}
        pending[key] = values
        order[#order + 1] = key
      end
      values[#values + 1] = rewritten
    end
    pushed[dest] = pushed[dest] + 1
  else
    vanished = vanished + 1
  end
end
-- Nothing here can fail: every key's type was checked, Redis refuses a script for memory only at
-- its first write (an LSET or LREM above), and unpack stays within its limit. The record of the moves that
-- happened (few members: one a distinct class, from and to), its expiry renewed only by a call
-- that moved a recorded job (lib/move-record.lua).
writeMoveRecord(record, members, recordTtl)
for _, key in ipairs(order) do
  local values = pending[key]
  for first = 1, #values, PUSH_VALUES do
    redis.call(push, key, unpack(values, first, math.min(first + PUSH_VALUES - 1, #values)))
  end
end
-- The pass's record, with the moves (nothing can fail here: a SET of a key checked to be a string),
-- only while the pass is open (above).
if pass and passOpen then
  local keptToken, keptK, keptExamined, keptGeneration, keptCounts, keptText = string.match(redis.call('GET', pass) or '', '^(%S+) (%d+) (%d+) ([^\n]*)\n([^\n]*)\n(.*)$')
  local header, text, token, k, examined, generation = unpack(passWrite)
  local counts = { vanished }
  for d = 1, destinations do counts[d + 1] = pushed[d] end
  local write
  if k == 1 then
    write = not keptToken or keptGeneration ~= generation or examined >= tonumber(keptExamined)
  else
    write = keptToken == token and keptGeneration == generation and tonumber(keptK) == k - 1
    if write then
      -- The slice's counts so far, this call's added; its text, call 1's.
      local i = 0
      for n in string.gmatch(keptCounts, '%d+') do
        i = i + 1
        counts[i] = (counts[i] or 0) + tonumber(n)
      end
      text = keptText
    end
  end
  if write then redis.call('SET', pass, header .. '\n' .. table.concat(counts, ' ') .. '\n' .. text) end
end
local reply = { vanished }
for d = 1, destinations do
  if pushed[d] > 0 and ARGV[3 + d] ~= '' then redis.call('SADD', queues, ARGV[3 + d]) end
  reply[d + 1] = pushed[d]
end
return reply
