--[[
  Takes the migration run lock, or reports who holds it. A run that already holds the lock (the
  same run id: a Lambda continuing the run, a resumed CLI run) takes it again and renews it.

  KEYS[1]  the lock (string, with a TTL so that a crashed holder's lock expires)
  ARGV[1]  this run's id
  ARGV[2]  the holder record to store (JSON: runId, operation, host, pid, startedAt)
  ARGV[3]  time to live in milliseconds

  Returns  { 1 } when taken; { 0, holder record, remaining ms } when another run holds it
]]
local current = redis.call('GET', KEYS[1])
if current then
  local ok, holder = pcall(cjson.decode, current)
  if not ok or type(holder) ~= 'table' or holder.runId ~= ARGV[1] then
    return { 0, current, redis.call('PTTL', KEYS[1]) }
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return { 1 }
