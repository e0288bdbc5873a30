--[[
  Prepended to every script by core/redis/lua-script.ts (one definition, used by all).

  Redis does not roll a script back when a command fails: what ran before the failing command
  stays. So a script that writes first asks whether its user may run every command it may call
  (refusedCommand, below: an ACL changed during a run), then checks every key it will write (one TYPE per key, before any write),
  and refuses the whole call when one holds another type than it needs. 'none' (no key) is
  always fine: writing creates it. The one other way a write fails, out of memory under
  maxmemory, happens only at a script's first write (Redis never stops a script that has
  written), so with these checks each call is all or nothing (test/redis/lua-guards.test.ts).

  wrongType(checks)  checks: a list of { key, expected type }
  Returns            nil when every key is fine; otherwise the error reply to return at once:
                     'WRONGTYPE sidekiq-migrate <actual> <expected> <key>' (the key last, so
                     that it may hold spaces; core/redis/key-type-error.ts reads it), or, for
                     one key named with two types (absent, it passes a look at either, and the
                     call would fail at its second write after its first: a run id `quarantine`
                     once made a quarantine list the run's record of moves),
                     'ERR sidekiq-migrate <key> is needed as a <type> and as a <type> by this
                     call; it was refused before it wrote anything'
]]
local function wrongType(checks)
  local seen = {}
  for _, check in ipairs(checks) do
    local key, expected = check[1], check[2]
    if seen[key] and seen[key] ~= expected then
      return redis.error_reply('ERR sidekiq-migrate ' .. key .. ' is needed as a ' .. seen[key] .. ' and as a ' .. expected .. ' by this call; it was refused before it wrote anything')
    end
    if not seen[key] then
      seen[key] = expected
      local actual = redis.call('TYPE', key)['ok']
      if actual ~= 'none' and actual ~= expected then
        return redis.error_reply('WRONGTYPE sidekiq-migrate ' .. actual .. ' ' .. expected .. ' ' .. key)
      end
    end
  end
  return nil
end

--[[
  badScore(first, step)  checks ARGV[first], ARGV[first + step]…: each must be a score ZADD
           accepts, so that no ZADD of the call can fail after an earlier command of it ran.
           ZADD reads a score with strtod and refuses, beyond what is not a number: NaN,
           surrounding space, bytes after a NUL (Lua's tonumber stops at the NUL), and a number
           out of a double's range (strtod's ERANGE: '1e400', which tonumber reads as inf, and
           '1e-400', which it reads as 0). All are refused here (test/redis/lua-guards.test.ts).
  Returns  nil, or the error reply 'ERR sidekiq-migrate invalid score <text>'
]]
-- C's isspace, as strtod and Lua's %s see it.
local SPACE = { [9] = true, [10] = true, [11] = true, [12] = true, [13] = true, [32] = true }
local HUGE, byte, find = math.huge, string.byte, string.find

local function outOfRange(text, n)
  if n == math.huge or n == -math.huge then
    return not string.find(string.lower(text), '^[+-]?inf')
  end
  -- 0 from a mantissa that is not zero: the number underflowed.
  local body = string.match(text, '^[+-]?(.*)$')
  local hex = string.match(body, '^0[xX](.*)$')
  if hex then return string.find(string.match(hex, '^[^pP]*'), '[1-9a-fA-F]') ~= nil end
  return string.find(string.match(body, '^[^eE]*'), '[1-9]') ~= nil
end

-- Runs for every score of a call: plain byte tests and a plain find rather than patterns, which
-- cost Redis's Lua a third of a microsecond each (issue #18).
local function badScore(first, step)
  for i = first, #ARGV, step do
    local text = ARGV[i]
    local n = tonumber(text)
    if n == nil or n ~= n or SPACE[byte(text, 1)] or SPACE[byte(text, -1)] or find(text, '\0', 1, true)
      or ((n == 0 or n == HUGE or n == -HUGE) and outOfRange(text, n)) then
      return redis.error_reply('ERR sidekiq-migrate invalid score ' .. text)
    end
  end
  return nil
end

--[[
  badTtl(script, i, …)  checks ARGV[i] for each index given: each must be a time to live that
           EXPIRE, PEXPIRE and SET … EX/PX all accept, so that none of them fails after an earlier
           write of the call, nor (EXPIRE of 0 or less) deletes the key it was to keep. Accepted: a
           whole number from 1 to 10^15 in digits only (Redis reads it with string2ll: no sign, no
           space, no exponent, no fraction). Redis 7.0.15 here, on 2026-12-07, refused
           ('ERR invalid expire time in ...') EXPIRE above 9,223,370,240,216,187 s and PEXPIRE or
           SET … PX above 9,223,370,240,216,185,730 ms (LLONG_MAX less the clock, in ms); 10^15 is
           far below both in either unit (in seconds, 31.7 million years; in ms, 31,700 years).
           The same bound as rerouteQueueJobs-n4 and rerouteSetEntries-n6 keep for their record.
           test/redis/lua-ttl-guard.test.ts
  Returns  nil, or the error reply 'ERR sidekiq-migrate invalid time to live <text> (<script>
           ARGV[i]: a whole number from 1 to 10^15); this call was refused before it wrote anything'
]]
local MAX_TTL = 1e15
local function badTtl(script, ...)
  for _, i in ipairs({ ... }) do
    local text = ARGV[i]
    -- 16 digits at most: tonumber reads them exactly (below 2^53).
    if not text or not find(text, '^[1-9]%d*$') or #text > 16 or tonumber(text) > MAX_TTL then
      return redis.error_reply('ERR sidekiq-migrate invalid time to live ' .. (text or '(none)') .. ' (' .. script .. ' ARGV[' .. i .. ']: a whole number from 1 to 10^15); this call was refused before it wrote anything')
    end
  end
  return nil
end

--[[
  refusedCommand(checks)  checks: a list of { key, command, command… } (key false for commands
           without a key, such as TIME; a key not given, nil, asks about the command alone)
  Redis checks a command a script calls against the caller's ACL only when the script calls it,
  and keeps what the script did before: a command taken from the run's user during a run (`ACL
  SETUSER app -lpush` after our start-up check, command-permissions.ts) stopped a re-route after
  its LREM, before its LPUSH: a job lost. So each script that writes first asks Redis
  (redis.acl_check_cmd, Redis 7.0+) about every command it may call, with every key it may call it
  on (an ACL's key patterns, read or write, can differ per key), before anything else, and refuses
  the whole call when one is denied. Each command is asked once per key of the call: a cost per
  call, not per job (bench/README.md, audit-acl-in-script). On Redis before 7.0 (no redis.acl_check_cmd)
  nothing is asked: the run's start-up check is all there is (docs/guarantees-and-limits.md).
  Returns  nil when every one is allowed (or nothing can be asked); otherwise the error reply
           'NOPERM sidekiq-migrate: the user may not run <COMMAND>[ on this key]; this call was
           refused before it wrote anything[ (key <key>)]': ' on this key' when the command is
           allowed but not on that key; the key last, so that it may hold anything
           (core/redis/command-refused-error.ts reads it). test/redis/lua-acl-guards.test.ts
]]
local function refusedCommand(checks)
  local allowed = redis.acl_check_cmd
  if not allowed then return nil end
  -- No table of pairs asked already: a key twice in a list (a destination that is the source) is
  -- rare, and asking twice costs less than building a name for every pair to look it up.
  for _, check in ipairs(checks) do
    -- Not `#check`: a key not given (nil) leaves a hole at [1], where # may stop.
    local key, c = check[1], 2
    while check[c] do
      local command = check[c]
      c = c + 1
      local ok
      if key then ok = allowed(command, key) else ok = allowed(command) end
      if not ok then
        local said = 'NOPERM sidekiq-migrate: the user may not run ' .. command
        if key and allowed(command) then said = said .. ' on this key' end
        said = said .. '; this call was refused before it wrote anything'
        if key then said = said .. ' (key ' .. key .. ')' end
        return redis.error_reply(said)
      end
    end
  end
  return nil
end
