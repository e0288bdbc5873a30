--[[
  Prepended to every script by core/redis/lua-script.ts (one definition, used by all).

  Redis does not roll a script back when a command fails: what ran before the failing command
  stays. So a script first checks every key it will write (one TYPE per key, before any write),
  and refuses the whole call when one holds another type than it needs. 'none' (no key) is
  always fine: writing creates it. The one other way a write fails, out of memory under
  maxmemory, happens only at a script's first write (Redis never stops a script that has
  written), so with these checks each call is all or nothing (test/redis/lua-guards.test.ts).

  wrongType(checks)  checks: a list of { key, expected type }
  Returns            nil when every key is fine; otherwise the error reply to return at once:
                     'WRONGTYPE sidekiq-migrate <actual> <expected> <key>' (the key last, so
                     that it may hold spaces; core/redis/key-type-error.ts reads it)
]]
local function wrongType(checks)
  local seen = {}
  for _, check in ipairs(checks) do
    local key, expected = check[1], check[2]
    if not seen[key] then
      seen[key] = true
      local actual = redis.call('TYPE', key)['ok']
      if actual ~= 'none' and actual ~= expected then
        return redis.error_reply('WRONGTYPE sidekiq-migrate ' .. actual .. ' ' .. expected .. ' ' .. key)
      end
    end
  end
  return nil
end

--[[
  badScore(scores, first, step)  checks ARGV[first], ARGV[first + step]…: each must be a score
           ZADD accepts (a number, ±inf, no surrounding space, not NaN), so that no ZADD of the
           call can fail after an earlier command of it ran.
  Returns  nil, or the error reply 'ERR sidekiq-migrate invalid score <text>'
]]
local function badScore(first, step)
  for i = first, #ARGV, step do
    local text = ARGV[i]
    local n = tonumber(text)
    if n == nil or n ~= n or string.find(text, '^%s') or string.find(text, '%s$') then
      return redis.error_reply('ERR sidekiq-migrate invalid score ' .. text)
    end
  end
  return nil
end
