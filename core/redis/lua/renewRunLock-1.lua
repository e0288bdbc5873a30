--[[
  Renews the run lock, or releases it, only if this run still holds it: a run whose lock expired
  and was taken by another run must neither extend nor delete the other run's lock.

  KEYS[1]  the lock
  ARGV[1]  this run's id
  ARGV[2]  'renew' or 'release'
  ARGV[3]  time to live in milliseconds (for 'renew')

  Returns  1 when renewed or released; 0 when this run does not hold the lock
]]
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, holder = pcall(cjson.decode, current)
if not ok or type(holder) ~= 'table' or holder.runId ~= ARGV[1] then return 0 end
if ARGV[2] == 'release' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
