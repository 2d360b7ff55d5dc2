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
  ARGV[8]  layout of the records that follow (the field names need not travel for the common shapes):
             'v'   n values; entry i = payload <value i>
             'kv'  n pairs value, key; entry i = payload <value i> key <key i>
             'f'   per record a field-value count f (even), then f field/value arguments
  ARGV[9…] the records

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
local MAX_FIELDS = 7900
local argc = #ARGV
local offsets = {} -- layout 'f': where record r's field count is
if layout == 'v' or layout == 'kv' then
  local want = 8 + count * (layout == 'v' and 1 or 2)
  if argc ~= want then
    return redis.error_reply('ERR_RSP_ARGS layout ' .. layout .. ' needs ' .. want .. ' arguments, got ' .. argc)
  end
elseif layout == 'f' then
  local i = 9
  for r = 1, count do
    local f = tonumber(ARGV[i])
    -- unpack() below takes at most ~8000 values: refuse more before anything is written.
    if f == nil or f < 2 or f % 2 ~= 0 or f > MAX_FIELDS or i + f > argc then
      return redis.error_reply('ERR_RSP_ARGS bad field count at argument ' .. i)
    end
    offsets[r] = i
    i = i + f + 1
  end
  if i ~= argc + 1 then
    return redis.error_reply('ERR_RSP_ARGS ' .. (argc + 1 - i) .. ' arguments left over')
  end
else
  return redis.error_reply('ERR_RSP_ARGS unknown layout ' .. tostring(layout))
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

-- XADD of record r with entry id `id`.
local function add(r, id)
  if layout == 'v' then return redis.call('XADD', stream, id, 'payload', ARGV[8 + r]) end
  if layout == 'kv' then return redis.call('XADD', stream, id, 'payload', ARGV[7 + 2 * r], 'key', ARGV[8 + 2 * r]) end
  local i = offsets[r]
  return redis.call('XADD', stream, id, unpack(ARGV, i + 1, i + tonumber(ARGV[i])))
end

-- The first XADD picks the id ('*'); on Redis >= 7.0 the others take '<its ms>-*', so the ids are
-- consecutive and one id answers for the batch. Older servers get '*' and every id is returned.
local first = add(1, '*')
local last = first
local reply
if (redis.REDIS_VERSION_NUM or 0) >= 0x070000 then
  local id = string.match(first, '^%d+') .. '-*'
  -- The common layouts inline the call: a function call per record costs ~4 % of the script.
  if layout == 'v' then
    for r = 2, count do last = redis.call('XADD', stream, id, 'payload', ARGV[8 + r]) end
  elseif layout == 'kv' then
    for r = 2, count do last = redis.call('XADD', stream, id, 'payload', ARGV[7 + 2 * r], 'key', ARGV[8 + 2 * r]) end
  else
    for r = 2, count do last = add(r, id) end
  end
  reply = { 1, first }
else
  reply = { 2, first }
  for r = 2, count do
    last = add(r, '*')
    reply[r + 1] = last
  end
end

if idempotent then
  redis.call('SET', stateKey, seq .. ' ' .. first .. ' ' .. count .. ' ' .. last, 'PX', ttl)
end
if ARGV[1] ~= '' then
  redis.call('XTRIM', stream, ARGV[1], ARGV[2], ARGV[3])
end
return reply
