--[[
  Takes the migration run lock, or reports who holds it. A run that already holds the lock (the
  same run id: a Lambda continuing the run, a resumed CLI run) takes it again and renews it.

  A stopped run (its stop marker set, see renewRunLock 'stop') is taken again only by a new
  execution of the run ('start', its plan step): a step of a stopped execution that is still
  running ('continue', 'hold') is refused, so that it moves nothing more.

  'hold' is a step of a running execution of the workflow (a page task, a continuation's plan):
  its execution took the lock when it planned, and kept it since, so a lock that no longer names
  this run means the run lost it. A lock that is gone (another run took it after it expired, then
  released it) or another run's past its `expiresAt` (that run took it, then died) is never taken
  again ({ 4 }): the step was stale (a Lambda paused past the lock's life) and another run may
  have worked the same keys meanwhile. A lock of this run past its `expiresAt` is renewed: no run
  took it since (taking it rewrites the record, releasing deletes it), a later start of the run
  would have written a later plannedAt, a stop would have set the marker. 'start' leaves the marker in
  place: the plan step clears it (renewRunLock 'resume') once it holds every lock of the run and
  has planned, so that a plan that fails half-way leaves the run stopped.

  'start' is refused ({ 5 }), before anything else, when the execution of this plan (ARGV[2]'s
  plannedBy) ended: the clean-up after its end recorded it (KEYS[3], its ended-execution record,
  renewRunLock-4.lua 'stop'), or the stop marker names it (`endedBy`: a marker of an older version,
  which recorded only the latest end). That execution ended (timed out, aborted) while its plan
  still ran, and the clean-up after its end ran first and found no lock of it to release. Taken
  now, the lock would stay until it expires, with no execution of the run left to page or release
  it. Every ended execution keeps its own record: a second end of the run (a later start that ended
  too, before this plan took the lock; its plan may have lifted the marker) names another execution
  in the marker, not this one, and lifting the marker leaves the records. A later start of the run
  is another execution (another plannedBy): it takes the lock as before, and its plan lifts the
  marker.

  'start' is refused ({ 3 }) when the lock of this run carries a later plannedAt than the one to
  store and has not expired: a later start of the run took it after this plan read its clock —
  this plan's Lambda was paused meanwhile (between its source's lock and its target's, or before
  its first) — and everything under the run's id is the later plan's now. Taking it back would
  hand the later plan's run to this one (the clean-up after this execution's end would release
  it). Past its expiry that plan died (or another machine's clock ran ahead): taken, as any dead
  holder's, so that the run can always be started again. The same plannedAt from another execution
  (both plannedBy known) is refused the same way: which of two starts in one millisecond came
  later cannot be told, and each must not take the other's run (the holder keeps it).

  'continue' keeps the holder's plannedAt (when the run's current execution planned) and plannedBy
  (that execution's ARN): the clean-up after an ended execution compares them with that execution. A step that names the
  plannedAt of its own execution (ARGV[2]) is refused when the lock of its run carries a later one:
  its execution was superseded by a later start of the run (an old execution redriven after
  `start --resume`), which owns the run's sets and queues now; so is one whose lock carries the
  same plannedAt and another plannedBy (both named: a start in the same millisecond took it once
  the step's execution's lock expired). A lock taken again by such a step (it was gone) keeps the
  step's plannedAt.

  The lock's expiry is in its value (`expiresAt`, epoch ms by the server's clock), not a TTL: a key
  with a TTL is what Redis evicts first under the volatile-* memory policies (ElastiCache's
  default is volatile-lru), and an evicted lock would let a second run in. A lock past its
  `expiresAt` counts as absent (its holder died). A lock written by an older version (no
  `expiresAt`) still expires by its TTL.

  KEYS[1]  the lock (string: the holder record, JSON, with `expiresAt`)
  KEYS[2]  this run's stop marker (JSON; `endedBy`: the ended execution it names, if any)
  KEYS[3]  the ended-execution record of ARGV[2]'s plannedBy (any type; only whether it exists is
           read), given for 'start' when the record names a plannedBy; absent otherwise
  ARGV[1]  this run's id
  ARGV[2]  the holder record to store (JSON: runId, operation, host, pid, startedAt; plannedAt: for
           'start' when this execution planned, for 'continue' when the step's execution planned,
           if known; plannedBy: the ARN of the execution that planned, if known)
  ARGV[3]  how long the lock lives without renewal, in milliseconds
  ARGV[4]  'start' (a new execution of the run), 'continue' (a process that goes on with a run it
           may not hold: taken when it is gone) or 'hold' (a step of a running execution, which
           must still hold it)

  Returns  { 1 } when taken; { 0, holder record, remaining ms (-1: never expires) } when
           another run holds it; { 2 } when this run was stopped ('continue' only; nothing changed);
           { 3, holder record } when a later execution of this run holds it (any mode; nothing
           changed); { 4, holder record or nothing } when this run lost it ('hold' only:
           gone, or another run's and expired; nothing changed); { 5 } when the stop marker
           names this plan's execution as ended, or its ended-execution record exists ('start' only;
           nothing changed)
]]
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local mode = ARGV[4]
if mode ~= 'start' and mode ~= 'continue' and mode ~= 'hold' then
  return redis.error_reply('ERR acquireRunLock: ARGV[4] must be start, continue or hold')
end
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'GET', 'PTTL', 'SET' }, { KEYS[2], 'EXISTS', 'GET' }, { KEYS[3], KEYS[3] and 'EXISTS' or nil }, { false, 'TIME' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' } })
if refusal then return refusal end
if mode ~= 'start' and redis.call('EXISTS', KEYS[2]) == 1 then return { 2 } end
local asking = cjson.decode(ARGV[2])
if mode == 'start' and type(asking.plannedBy) == 'string' then
  if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return { 5 } end
  local marker = redis.call('GET', KEYS[2])
  local ok, stopped = false, nil
  if marker then ok, stopped = pcall(cjson.decode, marker) end
  if ok and type(stopped) == 'table' and stopped.endedBy == asking.plannedBy then return { 5 } end
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
if mode == 'start' and laterStart(KEYS[1], ARGV[1], asking.plannedAt, asking.plannedBy) then -- lib/run-generation.lua
  local later = redis.call('GET', KEYS[1])
  local expiresAt = tonumber(cjson.decode(later).expiresAt)
  if not (expiresAt and expiresAt <= now) then return { 3, later } end
end
local current = redis.call('GET', KEYS[1])
local holder
if not current and mode == 'hold' then return { 4 } end
if current then
  local ok
  ok, holder = pcall(cjson.decode, current)
  local readable = ok and type(holder) == 'table'
  local expiresAt = readable and tonumber(holder.expiresAt)
  local ours = readable and holder.runId == ARGV[1]
  if expiresAt and expiresAt <= now and not (mode == 'hold' and ours) then
    if mode == 'hold' then return { 4, current } end
    holder = nil -- its holder died: absent
  elseif not ours then
    return { 0, current, expiresAt and (expiresAt - now) or redis.call('PTTL', KEYS[1]) }
  end
end
local mine = cjson.decode(ARGV[2])
local held, asked = holder and tonumber(holder.plannedAt), tonumber(mine.plannedAt)
if mode ~= 'start' and held and asked and held > asked then return { 3, current } end
-- The same plannedAt from another execution's plan (both named): a start of the run in the same
-- millisecond superseded the step's execution (its lock expired, that start took it).
local otherPlanner = type(mine.plannedBy) == 'string' and type(holder and holder.plannedBy) == 'string' and holder.plannedBy ~= mine.plannedBy
if mode ~= 'start' and held and asked and held == asked and otherPlanner then return { 3, current } end
if mode ~= 'start' and held and not (asked and asked > held) then
  mine.plannedAt = holder.plannedAt
  -- The same generation: the execution that planned it stays named (a step may not know it).
  if holder.plannedBy ~= nil then mine.plannedBy = holder.plannedBy end
end
mine.expiresAt = now + tonumber(ARGV[3])
redis.call('SET', KEYS[1], cjson.encode(mine))
return { 1 }
