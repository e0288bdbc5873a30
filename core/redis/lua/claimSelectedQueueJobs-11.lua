--[[
  Claims chosen jobs out of the middle of a Sidekiq queue into this run's in-flight list, in one
  atomic step, while producers keep pushing at the head and fetchers keep popping at the tail:
  a class-selective transfer takes only the jobs of its classes, every other job keeps its place.

  The caller read the jobs by their tail offset (0 = the oldest, the end BRPOP takes from). Since
  that read, fetchers may have popped k jobs (every offset is k lower), or a stopping Sidekiq
  pushed jobs back at the tail (k < 0); pushes at the head change no tail offset. The shift is
  found again here: the smallest |k| (at most ARGV[2]) for which every chosen job is still at its
  offset - k with the same bytes; one whose offset - k is below 0 was fetched meanwhile and is not
  taken. Bytes decide: two equal payloads are the same job content, either may be taken. If no
  shift fits (a job removed from the middle, a shift beyond ARGV[2]), nothing is taken and the
  caller reads again.

  The shift is looked for near 0 first (|k| <= 16, fetchers popping a few jobs between the read
  and the claim), reading only what that needs: the chosen jobs' span and 16 jobs on each side,
  or, when the chosen jobs are few and far apart (a selection of rare classes), 33 jobs around
  each (one LRANGE a job); only when no shift that small fits is every job within ARGV[2] of the
  chosen ones read, as version 8 always did, and the search goes on to the larger shifts, in the
  same order (0, 1, -1, 2, -2…): the shift found, and so what is taken, is what version 8 took.
  Version 8 read (into the script's memory) up to 2·ARGV[2] + the window jobs a call (~3,500 at
  the page size 1,000), whatever it claimed: most of a call's time where the list is short
  (bench/README.md, audit-seldeep).

  Every check is a read and comes before the first write. Then each job taken is overwritten in
  place (LSET, an index just read, so it cannot fail) with a marker no job can equal, and one
  LREM removes exactly the markers, scanning from the nearer end: O(distance from that end). That
  scan is not bounded here: no Redis command removes an element from the middle of a list without
  walking to it from an end.

  Batches as claimQueueJobs-3.lua: a new id (ARGV[1]) when the in-flight list starts empty, kept
  while it holds jobs; jobs an interrupted attempt left in flight are returned first.

  A stopped run claims nothing (KEYS[4], its stop marker, exists), nor one whose lock on the
  source another run or a later execution of the run holds (KEYS[5], lib/claim-lock.lua), as
  claimQueueJobs-14.lua: a claim after the run lost its lock would take the jobs off the live queue
  into an in-flight list whose write the target then refuses, out of every fetcher's reach until a
  later run resumes them.

  KEYS[1]  the queue (list, queue:NAME)
  KEYS[2]  the run's in-flight list for that queue
  KEYS[3]  the in-flight batch's id
  KEYS[4]  the run's stop marker (core/redis/run-lock.ts runStopMarkerKey)
  KEYS[5]  the run lock on this server (core/redis/run-lock.ts runLockKey): nothing is claimed
           while it is not the run's (lib/claim-lock.lua lockTaken, lockGone)
  KEYS[6]  the pass's start, kept on the source (core/transfer/transfer-keys.ts originalsKey):
           '<length when the pass began> <jobs the pass has claimed since> <generation>', then, for
           an oldest-first (append) pass begun by this version, a newline and its mark (the bytes of the newest original:
           the queue's head when the pass read its length), written with every claim (this step's
           claims added), so that a caller whose cursor is older than the last claim (a retried
           first slice, a lost reply) learns how far the pass's bound moved down; one written by
           another generation (an earlier execution) is replaced.
           (A newest-first pass claims that job first and walks down to the tail: it keeps none.)
           The mark bounds the pass: it is looked for from the head (LPOS; the highest copy, so a
           byte-identical older job does not move the bound down), and a chosen job above it
           (pushed since the pass began) is not taken; the bound, the mark's tail offset, is
           returned, so the caller's `end` follows it. Before, the caller's `end` alone bounded
           the pass, moved by what its anchor saw: jobs a stopping Sidekiq pushed back at the tail
           (RPUSH) while no anchor was kept (every job examined taken), or more of them than the
           anchor is looked for around, left the bound that many jobs low, and as many of the
           newest originals stayed on the source called "added during the run"; fetches at the
           tail left it as many jobs high, into what producers pushed. Found nowhere (a worker
           fetched it, and every job below it; or this pass claimed it, its last original), the
           bound is below the tail: nothing more is taken. A record without a mark (a pass begun
           by version 7, going on with this one) bounds nothing here, as before. A job
           byte-identical to the mark pushed above it (one job pushed twice) moves the bound up to
           that copy: the jobs between, all pushed since the pass began, may be taken too, never
           lost, and what stays above is only what arrived (test/workflow/cli-mark-duplicate.test.ts)
  KEYS[7]  the source's index of in-flight keys (core/transfer/inflight-index.ts, a set of key
           names, `<prefix>sidekiq-migrate:inflight-keys`): the in-flight key's name is added to
           it (SADD) by the call that leaves the key holding anything, at its end, when not named
           yet, so an in-flight key this version writes is always named there (a summary finds
           in-flight keys by reading it, not by walking the keyspace); never taken out here
  ARGV[1]  a new batch id (random), used only if the in-flight list starts a new batch
  ARGV[2]  D, the largest shift |k| looked for
  ARGV[3]  the marker (random, not a payload: never equal to a job)
  ARGV[4]  this run's id
  ARGV[5]  this execution's generation (lib/claim-lock.lua lockTaken), '' when unknown
  ARGV[6]  the queue's length when the pass began, as the caller's cursor has it
  ARGV[7]  the jobs the pass has claimed, as the caller's cursor has it (used when KEYS[6] holds
           no start of this generation)
  ARGV[8]  the pass's mark as the caller took it with ARGV[6] (the queue's head then, read in one
           MULTI with its length), used when KEYS[6] holds no start of this generation; '' when
           the caller has none (a cursor of an older version's pass, an empty queue)
  then     pairs: tail offset when read (distinct integers >= 0), payload bytes; in claim order
           (the order they are appended to the in-flight list)

  Returns  { newly claimed count, batch id ('' when nothing is in flight), located (1, or 0 when no
           shift fitted and nothing was taken), k, one status per chosen job in order ('1' taken,
           '0' fetched meanwhile, '2' above the mark, pushed since the pass began; '' when not
           located), the bound after this call's claims (the tail offset just above the mark, 0
           when the mark is gone; -1 when the pass has no mark), every in-flight payload in claim
           order… }; KEYS[6] is written whenever a claim is made (or none: the start is kept all
           the same); { -2 when the run was stopped, -3 when another run holds the lock, -4 when a
           later execution of this run does, -5 when, ARGV[5] known, the lock is gone or another
           run's past its expiry (lockGone), '', 0, 0, '', -1 } (nothing written, nothing returned)

  Refused before any write (guards.lua) when a key holds another type; an error, nothing written,
  when the arguments are malformed.
]]
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local source, inflight, batchKey = KEYS[1], KEYS[2], KEYS[3]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { source, 'TYPE', 'LRANGE', 'LSET', 'LLEN', 'LREM', 'LPOS' }, { inflight, 'TYPE', 'RPUSH', 'EXISTS', 'LRANGE' }, { batchKey, 'TYPE', 'GET', 'SET' },
  { KEYS[4], 'EXISTS' }, { KEYS[5], 'TYPE', 'GET' }, { KEYS[6], 'TYPE', 'GET', 'SET' }, { KEYS[7], 'TYPE', 'SISMEMBER', 'SADD' }, { false, 'TIME' } })
if refused then return refused end
local refusal = wrongType({ { source, 'list' }, { inflight, 'list' }, { batchKey, 'string' }, { KEYS[5], 'string' }, { KEYS[6], 'string' }, { KEYS[7], 'set' } })
if refusal then return refusal end
local maxShift, marker = tonumber(ARGV[2]), ARGV[3]
local startLength, startClaimed = tonumber(ARGV[6]), tonumber(ARGV[7])
if #ARGV < 8 or (#ARGV - 8) % 2 ~= 0 or not maxShift or maxShift < 0 or maxShift ~= math.floor(maxShift)
  or not startLength or startLength < 0 or startLength ~= math.floor(startLength)
  or not startClaimed or startClaimed < 0 or startClaimed ~= math.floor(startClaimed) then
  return redis.error_reply('ERR claimSelectedQueueJobs: expected batch, D, marker, run id, generation, start length, claimed, mark, then offset/payload pairs')
end
if redis.call('EXISTS', KEYS[4]) == 1 then return { -2, '', 0, 0, '', -1 } end
local taken = lockTaken(KEYS[5], ARGV[4], ARGV[5]) or lockGone(KEYS[5], ARGV[4], ARGV[5])
if taken then return { taken, '', 0, 0, '', -1 } end
-- The pass's start as kept (this generation's), else as the caller has it: its first line, then
-- its mark after a newline (the generation holds no newline: generation-arg.ts).
local mark = ARGV[8] ~= '' and ARGV[8] or nil
local kept = redis.call('GET', KEYS[6])
if kept then
  local newline = string.find(kept, '\n', 1, true)
  local length, claimedSoFar, generation = string.match(newline and string.sub(kept, 1, newline - 1) or kept, '^(%d+) (%d+) ?(.*)$')
  if length and generation == ARGV[5] then
    startLength, startClaimed = tonumber(length), tonumber(claimedSoFar)
    mark = newline and string.sub(kept, newline + 1) or nil
  end
end
-- The bound: the mark's tail offset now (-1 when it is gone: nothing is the pass's any more).
local bound = nil
if mark then
  local at = redis.call('LPOS', source, mark)
  bound = at and (redis.call('LLEN', source) - 1 - at) or -1
end
local n = (#ARGV - 8) / 2
local offsets, members, seen = {}, {}, {}
local lowest, highest, top
for i = 1, n do
  local o = tonumber(ARGV[7 + 2 * i])
  if not o or o < 0 or o ~= math.floor(o) or seen[o] then
    return redis.error_reply('ERR claimSelectedQueueJobs: offsets must be distinct integers >= 0')
  end
  seen[o] = true
  offsets[i], members[i] = o, ARGV[8 + 2 * i]
  if not lowest or o < lowest then lowest = o end
  if not highest or o > highest then highest, top = o, i end
end

local batch = redis.call('GET', batchKey)
-- Nothing chosen: nothing to locate (the call still returns what is in flight).
local claimed, located, shift = 0, n == 0 and 1 or 0, 0
local statuses = {}
if n > 0 then
  -- The jobs at tail offsets within `s` of the chosen ones, into got[offset] (a shorter list
  -- leaves the offsets above its head out): one LRANGE over the span, or one a job when the
  -- chosen jobs are few and far apart, whichever reads fewer.
  local function readAround(s)
    local got = {}
    local function range(lo, hi)
      local window = redis.call('LRANGE', source, -(hi + 1), -(lo + 1))
      local count = #window
      for j = 1, count do got[lo + count - j] = window[j] end
    end
    local span = highest - lowest + 1 + 2 * s
    if n * (2 * s + 1) * 2 < span then
      for i = 1, n do range(math.max(0, offsets[i] - s), offsets[i] + s) end
    else
      range(math.max(0, lowest - s), highest + s)
    end
    return got
  end
  -- k = 0, 1, -1, 2, -2…, steps `first` to `last`: the job read highest survives pops longest,
  -- so it anchors the search.
  local function search(got, first, last)
    for step = first, last do
      local k = (step % 2 == 1) and ((step + 1) / 2) or -(step / 2)
      local p = offsets[top] - k
      if p >= 0 and got[p] == members[top] then
        local fits = true
        for i = 1, n do
          local q = offsets[i] - k
          if q >= 0 and got[q] ~= members[i] then
            fits = false
            break
          end
        end
        if fits then return k end
      end
    end
    return nil
  end
  local near = math.min(maxShift, 16)
  local k = search(readAround(near), 0, 2 * near)
  if k == nil and maxShift > near then k = search(readAround(maxShift), 2 * near + 1, 2 * maxShift) end
  if k ~= nil then located, shift = 1, k end
  if located == 1 then
    for i = 1, n do
      local q = offsets[i] - shift
      if q >= 0 and bound and q > bound then
        -- Above the mark: pushed since the pass began, not the pass's.
        statuses[i] = '2'
      elseif q >= 0 then
        redis.call('LSET', source, -(q + 1), marker)
        claimed = claimed + 1
        statuses[i] = '1'
      else
        statuses[i] = '0'
      end
    end
    if claimed > 0 then
      local length = redis.call('LLEN', source)
      local fromTail = highest - shift < length - (lowest - shift)
      redis.call('LREM', source, fromTail and -claimed or claimed, marker)
      for i = 1, n do
        if statuses[i] == '1' then redis.call('RPUSH', inflight, members[i]) end
      end
    end
  end
end
redis.call('SET', KEYS[6], string.format('%d %d %s', startLength, startClaimed + claimed, ARGV[5]) .. (mark and ('\n' .. mark) or ''))
if not batch and redis.call('EXISTS', inflight) == 1 then
  batch = ARGV[1]
  redis.call('SET', batchKey, batch)
end
local reply = redis.call('LRANGE', inflight, 0, -1)
-- Every job taken was at or below the mark: the bound goes down by as many.
table.insert(reply, 1, bound and math.max(0, bound + 1 - claimed) or -1)
table.insert(reply, 1, table.concat(statuses))
table.insert(reply, 1, shift)
table.insert(reply, 1, located)
table.insert(reply, 1, batch or '')
table.insert(reply, 1, claimed)
-- Named in the index in the call that leaves it in flight (inflight-index.ts): no in-flight key
-- this version writes is ever missing from it. Last, after the claim's writes (a script that has
-- written runs to its end: no refusal for memory then), and only when not named yet.
if redis.call('EXISTS', inflight) == 1 and redis.call('SISMEMBER', KEYS[7], inflight) == 0 then redis.call('SADD', KEYS[7], inflight) end
return reply
