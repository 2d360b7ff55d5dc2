--[[
  compensation-park: park undeliverable records of one topic in its compensation store.
  Every key carries the topic's tag {ns:compensation:topic}, so the call touches one Cluster slot.
  Parking a record that is already parked (same id, pending or dead) keeps the first copy.

  KEYS[1]  schedule zset   {ns:compensation:topic}:zset  (id → next attempt time, ms)
  KEYS[2]  payload hash    {ns:compensation:topic}:data  (id → entry JSON)
  KEYS[3]  dead-letter zset {ns:compensation:topic}:dead (id → when dead-lettered, ms)

  ARGV[1]  next attempt time of every entry (ms since the epoch, integer)
  ARGV[2…] entry pairs: id, entry JSON (at least one pair)

  Reply: how many entries were new (the others were already parked and are left as they are).
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local schedule = KEYS[1]
local data = KEYS[2]
local dead = KEYS[3]
local nextAttemptAt = tonumber(ARGV[1])
local argc = #ARGV

-- Check the whole shape first, so a malformed call writes nothing.
if nextAttemptAt == nil or nextAttemptAt ~= math.floor(nextAttemptAt) then
  return redis.error_reply('ERR_RSP_ARGS next attempt time must be an integer')
end
if argc < 3 or (argc - 1) % 2 ~= 0 then
  return redis.error_reply('ERR_RSP_ARGS expected id/JSON pairs after the time, got ' .. (argc - 1) .. ' arguments')
end
for i = 2, argc, 2 do
  if ARGV[i] == '' or ARGV[i + 1] == '' then
    return redis.error_reply('ERR_RSP_ARGS empty id or JSON at argument ' .. i)
  end
end

local parked = 0
for i = 2, argc, 2 do
  local id = ARGV[i]
  if redis.call('HSETNX', data, id, ARGV[i + 1]) == 1 then
    parked = parked + 1
  end
  -- A dead-lettered copy stays dead: requeueing it is an operator's decision.
  if redis.call('ZSCORE', dead, id) == false then
    redis.call('ZADD', schedule, 'NX', nextAttemptAt, id)
  end
end
return parked
