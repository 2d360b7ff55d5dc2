--[[
  publish-batch: append one batch of records to one shard's stream, then optionally trim it.
  Every key belongs to one shard's hash tag, so the call touches a single Cluster slot.

  KEYS[1]  stream key of the shard, e.g. {ns:topic:3}

  ARGV[1]  trim strategy: '' (no trim), 'MAXLEN' or 'MINID'
  ARGV[2]  trim operator: '~' (approximate) or '=' (exact); ignored without a strategy
  ARGV[3]  trim threshold: MAXLEN count or MINID id; ignored without a strategy
  ARGV[4]  record count n
  ARGV[5…] n records, each: field-value count f (even), then f field/value arguments

  Reply: array of the n new entry ids, in record order.
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local stream = KEYS[1]
local strategy = ARGV[1]
local count = tonumber(ARGV[4])
if count == nil or count < 1 then
  return redis.error_reply('ERR_RSP_ARGS record count must be a positive integer')
end

-- Check the whole shape first, so a malformed call writes nothing.
local argc = #ARGV
local i = 5
for _ = 1, count do
  local f = tonumber(ARGV[i])
  if f == nil or f < 2 or f % 2 ~= 0 or i + f > argc then
    return redis.error_reply('ERR_RSP_ARGS bad field count at argument ' .. i)
  end
  i = i + f + 1
end
if i ~= argc + 1 then
  return redis.error_reply('ERR_RSP_ARGS ' .. (argc + 1 - i) .. ' arguments left over')
end

local ids = {}
i = 5
for r = 1, count do
  local f = tonumber(ARGV[i])
  ids[r] = redis.call('XADD', stream, '*', unpack(ARGV, i + 1, i + f))
  i = i + f + 1
end

if strategy ~= '' then
  redis.call('XTRIM', stream, strategy, ARGV[2], ARGV[3])
end
return ids
