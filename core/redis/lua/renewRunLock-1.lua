--[[
  Renews the run lock, or releases it, only if no other run holds it: a run whose lock expired
  and was taken by another run must neither extend nor delete the other run's lock. A lock that
  is gone (released by a sibling execution of the same run, or expired with no one taking it) is
  taken again on renewal.

  KEYS[1]  the lock
  ARGV[1]  this run's id
  ARGV[2]  'renew' or 'release'
  ARGV[3]  time to live in milliseconds (for 'renew')
  ARGV[4]  the holder record to store if the lock must be taken again (for 'renew')

  Returns  1 when renewed or released; 0 when another run holds the lock (or, for 'release',
           when there was nothing to release)
]]
local current = redis.call('GET', KEYS[1])
if not current then
  if ARGV[2] == 'release' then return 0 end
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])
  return 1
end
local ok, holder = pcall(cjson.decode, current)
if not ok or type(holder) ~= 'table' or holder.runId ~= ARGV[1] then return 0 end
if ARGV[2] == 'release' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
