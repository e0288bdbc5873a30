--[[
  Prepended to every script by core/redis/lua-script.ts, after guards.lua.

  One variadic command costs Redis far less than one call per item (issue #18: of a transfer's
  Lua time, about half went to the glue of ~6 redis.call per job, not to the commands). A call's
  items are sent in commands of at most VARIADIC_CHUNK (an even number, so that score/member pairs
  stay whole), well under Lua's limit on unpack (~8,000 values). Cutting a command in several
  changes nothing a script can observe: it runs atomically, and each command used here (SADD,
  SMISMEMBER, ZADD, ZREM, ZMSCORE, RPUSH, LPUSH) does exactly what the same command sent item by
  item would, in order (LPUSH a b c leaves c at the head, as three LPUSHes do).

  variadic(command, key, items)       items: a Lua array; none: nothing is sent
  Returns  the sum of the integer replies (SADD, ZADD, ZREM: how many items changed; RPUSH, LPUSH:
           meaningless, unused), 0 for none

  variadicArray(command, key, items)  the same for commands that reply one value per item
  Returns  the replies' elements in order (SMISMEMBER: 1/0; ZMSCORE: score or false), {} for none
]]
local VARIADIC_CHUNK = 1000
local function variadic(command, key, items)
  local sum = 0
  for first = 1, #items, VARIADIC_CHUNK do
    sum = sum + redis.call(command, key, unpack(items, first, math.min(#items, first + VARIADIC_CHUNK - 1)))
  end
  return sum
end
local function variadicArray(command, key, items)
  local all = {}
  for first = 1, #items, VARIADIC_CHUNK do
    local reply = redis.call(command, key, unpack(items, first, math.min(#items, first + VARIADIC_CHUNK - 1)))
    for i = 1, #reply do all[#all + 1] = reply[i] end
  end
  return all
end
