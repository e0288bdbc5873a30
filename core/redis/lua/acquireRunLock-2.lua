--[[
  Takes the migration run lock, or reports who holds it. A run that already holds the lock (the
  same run id: a Lambda continuing the run, a resumed CLI run) takes it again and renews it.

  A stopped run (its stop marker set, see renewRunLock 'stop') is taken again only by a new
  execution of the run ('start', its plan step): a step of a stopped execution that is still
  running ('continue') is refused, so that it moves nothing more. 'start' leaves the marker in
  place: the plan step clears it (renewRunLock 'resume') once it holds every lock of the run and
  has planned, so that a plan that fails half-way leaves the run stopped.

  'continue' keeps the holder's plannedAt (when the run's current execution planned): the clean-up
  after an ended execution compares it with when that execution ended.

  KEYS[1]  the lock (string, with a TTL so that a crashed holder's lock expires)
  KEYS[2]  this run's stop marker
  ARGV[1]  this run's id
  ARGV[2]  the holder record to store (JSON: runId, operation, host, pid, startedAt; plannedAt for 'start')
  ARGV[3]  time to live in milliseconds
  ARGV[4]  'start' (a new execution of the run) or 'continue' (a step of a running execution)

  Returns  { 1 } when taken; { 0, holder record, remaining ms } when another run holds it;
           { 2 } when this run was stopped ('continue' only; nothing changed)
]]
local mode = ARGV[4]
if mode ~= 'start' and mode ~= 'continue' then
  return redis.error_reply('ERR acquireRunLock: ARGV[4] must be start or continue')
end
if mode == 'continue' and redis.call('EXISTS', KEYS[2]) == 1 then return { 2 } end
local current = redis.call('GET', KEYS[1])
local holder
if current then
  local ok
  ok, holder = pcall(cjson.decode, current)
  if not ok or type(holder) ~= 'table' or holder.runId ~= ARGV[1] then
    return { 0, current, redis.call('PTTL', KEYS[1]) }
  end
end
local record = ARGV[2]
if mode == 'continue' and holder and tonumber(holder.plannedAt) then
  local mine = cjson.decode(record)
  mine.plannedAt = holder.plannedAt
  record = cjson.encode(mine)
end
redis.call('SET', KEYS[1], record, 'PX', ARGV[3])
return { 1 }
