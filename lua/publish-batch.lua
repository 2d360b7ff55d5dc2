--[[
  publish-batch: append one batch of records to one shard's stream, at most once per
  (producer, sequence), then optionally trim it. Every key belongs to the shard's hash tag, so the
  call touches a single Cluster slot.

  KEYS[1]  stream key of the shard, e.g. {ns:topic:3}
  KEYS[2]  idempotence state of this producer on this shard, e.g. {ns:topic:3}:p:<producerId>;
           a string "<lastSeq> <firstId> <count> <lastId>" (firstId '-' = that sequence was
           fenced: it must never be written). Ignored when ARGV[4] is ''.

  ARGV[1]  trim strategy: '' (no trim), 'MAXLEN' or 'MINID'
  ARGV[2]  trim operator: '~' (approximate) or '=' (exact); ignored without a strategy
  ARGV[3]  trim threshold: MAXLEN count or MINID id; ignored without a strategy
  ARGV[4]  '1' = idempotent (check and record the sequence), '' = plain
  ARGV[5]  sequence number of this batch on this shard (integer ≥ 1)
  ARGV[6]  time to keep the idempotence state, in ms
  ARGV[7]  record count n
  ARGV[8]  layout of the records that follow: 'r' (the only one), runs of records that share their
           field names, so a name travels once per run instead of once per record. Each run:
             m  records in the run (≥ 1)
             f  fields per record (≥ 1)
             f  field names
             m × f values, record after record
  ARGV[9…] the runs, whose m add up to n

  Reply: { status, id… }
    status 1  written now; ONE id follows: the batch's ids are consecutive, record i (from 1) has
              <ms>-<seq + i - 1> where id = <ms>-<seq> (Redis ≥ 7.0: the first XADD picks the id,
              the others add '<ms>-*', the next sequence number of that millisecond)
    status 2  written now; n ids follow (Redis < 7.0, where XADD has no '<ms>-*')
    status 0  this sequence had already been written: the original ids follow (read back with
              XRANGE firstId lastId, so only this batch's; fewer than n if trimming removed some).
              The state is written again, so a WAIT after this call covers the original write.
  Errors (nothing written):
    'ERR_RSP_ARGS <what>'   the arguments do not have the shape above
    'ERR_RSP_FENCED <seq>'  this sequence was fenced by a replayer: it must not be written
    'ERR_RSP_STALE <last>'  a later sequence of this producer was already written on this shard
]]
local stream = KEYS[1]
local stateKey = KEYS[2]
local idempotent = ARGV[4] == '1'
local seq = tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local count = tonumber(ARGV[7])
local layout = ARGV[8]
if count == nil or count < 1 then
  return redis.error_reply('ERR_RSP_ARGS record count must be a positive integer')
end
if idempotent and (seq == nil or seq < 1 or ttl == nil or ttl < 1) then
  return redis.error_reply('ERR_RSP_ARGS sequence and state ttl must be positive integers')
end
-- A trim that XTRIM would refuse must fail here, before the first XADD, not after the last.
if ARGV[1] ~= '' then
  local threshold = ARGV[3]
  local valid = (ARGV[1] == 'MAXLEN' and string.match(threshold, '^%d+$'))
    or (ARGV[1] == 'MINID' and (string.match(threshold, '^%d+$') or string.match(threshold, '^%d+%-%d+$')))
  if not valid or (ARGV[2] ~= '~' and ARGV[2] ~= '=') then
    return redis.error_reply('ERR_RSP_ARGS bad trim ' .. ARGV[1] .. ' ' .. tostring(ARGV[2]) .. ' ' .. tostring(threshold))
  end
end

-- Check the whole shape first, so a malformed call writes nothing.
-- unpack() takes at most ~8000 values: a run's XADD (2 + 2f arguments) must stay below that.
local MAX_FIELDS = 3950
local argc = #ARGV
if layout ~= 'r' then
  return redis.error_reply('ERR_RSP_ARGS unknown layout ' .. tostring(layout))
end
local runs = {} -- where each run starts (its m)
local i, records = 9, 0
while i <= argc do
  local m, f = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if m == nil or f == nil or m < 1 or f < 1 or f > MAX_FIELDS or m % 1 ~= 0 or f % 1 ~= 0 then
    return redis.error_reply('ERR_RSP_ARGS bad run at argument ' .. i)
  end
  runs[#runs + 1] = i
  records = records + m
  i = i + 2 + f + m * f
end
if i ~= argc + 1 then
  return redis.error_reply('ERR_RSP_ARGS the run at argument ' .. runs[#runs] .. ' needs ' .. (i - argc - 1) .. ' more arguments')
end
if records ~= count then
  return redis.error_reply('ERR_RSP_ARGS the runs hold ' .. records .. ' records, the count says ' .. count)
end

--- @include "idempotence-state"
if idempotent then
  local lastSeq, firstId, lastCount, lastId, state = readState(stateKey)
  if lastSeq == seq then
    if firstId == '-' then return redis.error_reply('ERR_RSP_FENCED ' .. seq) end
    -- Already written (a retry after a lost reply). Writing the state again makes this call a
    -- write that replicates after the original, so a WAIT on this connection counts only
    -- replicas that have the batch.
    redis.call('SET', stateKey, state, 'PX', ttl)
    -- The batch's entries are contiguous (the script that wrote them ran atomically); bounded by
    -- its last id, so entries of other producers after it are never taken for its own.
    local reply = { 0 }
    local entries = redis.call('XRANGE', stream, firstId, lastId, 'COUNT', lastCount)
    for e = 1, #entries do reply[e + 1] = entries[e][1] end
    return reply
  end
  if lastSeq > seq then
    return redis.error_reply('ERR_RSP_STALE ' .. lastSeq)
  end
end

-- XADDs records `from`…`to` of the run at argument `at`, with entry id `id`; returns the last id.
-- The usual field counts (value, key, up to four headers) are written out: a table filled and
-- unpacked per record costs far more than the call itself.
local function writeRun(at, from, to, id)
  local f = tonumber(ARGV[at + 1])
  local v = at + 2 + f + (from - 1) * f -- the first value of record `from`
  local last
  if f == 1 then
    local a = ARGV[at + 2]
    for _ = from, to do
      last = redis.call('XADD', stream, id, a, ARGV[v])
      v = v + 1
    end
  elseif f == 2 then
    local a, b = ARGV[at + 2], ARGV[at + 3]
    for _ = from, to do
      last = redis.call('XADD', stream, id, a, ARGV[v], b, ARGV[v + 1])
      v = v + 2
    end
  elseif f == 3 then
    local a, b, c = ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
    for _ = from, to do
      last = redis.call('XADD', stream, id, a, ARGV[v], b, ARGV[v + 1], c, ARGV[v + 2])
      v = v + 3
    end
  elseif f == 4 then
    local a, b, c, d = ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5]
    for _ = from, to do
      last = redis.call('XADD', stream, id, a, ARGV[v], b, ARGV[v + 1], c, ARGV[v + 2], d, ARGV[v + 3])
      v = v + 4
    end
  elseif f == 5 then
    local a, b, c, d, e = ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6]
    for _ = from, to do
      last = redis.call('XADD', stream, id, a, ARGV[v], b, ARGV[v + 1], c, ARGV[v + 2], d, ARGV[v + 3], e, ARGV[v + 4])
      v = v + 5
    end
  elseif f == 6 then
    local a, b, c, d, e, g = ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6], ARGV[at + 7]
    for _ = from, to do
      last = redis.call('XADD', stream, id, a, ARGV[v], b, ARGV[v + 1], c, ARGV[v + 2], d, ARGV[v + 3], e, ARGV[v + 4], g, ARGV[v + 5])
      v = v + 6
    end
  else
    local call = { 'XADD', stream, id } -- then name, value pairs
    for k = 1, f do call[2 + 2 * k] = ARGV[at + 1 + k] end
    for _ = from, to do
      for k = 1, f do call[3 + 2 * k] = ARGV[v + k - 1] end
      last = redis.call(unpack(call))
      v = v + f
    end
  end
  return last
end

-- The first XADD picks the id ('*'); on Redis >= 7.0 the others take '<its ms>-*', so the ids are
-- consecutive and one id answers for the batch. Older servers get '*' and every id is returned.
local first = writeRun(runs[1], 1, 1, '*')
local last = first
local reply
if (redis.REDIS_VERSION_NUM or 0) >= 0x070000 then
  local id = string.match(first, '^%d+') .. '-*'
  for r = 1, #runs do
    local at = runs[r]
    local m = tonumber(ARGV[at])
    local from = r == 1 and 2 or 1
    if from <= m then last = writeRun(at, from, m, id) end
  end
  reply = { 1, first }
else
  reply = { 2, first }
  for r = 1, #runs do
    local at = runs[r]
    for k = (r == 1 and 2 or 1), tonumber(ARGV[at]) do
      last = writeRun(at, k, k, '*')
      reply[#reply + 1] = last
    end
  end
end

if idempotent then
  redis.call('SET', stateKey, seq .. ' ' .. first .. ' ' .. count .. ' ' .. last, 'PX', ttl)
end
if ARGV[1] ~= '' then
  redis.call('XTRIM', stream, ARGV[1], ARGV[2], ARGV[3])
end
return reply
