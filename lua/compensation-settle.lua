--[[
  compensation-settle: the outcome of a replay, applied only to entries whose lease the caller
  still holds (after a lease expired another replayer may have claimed the entry: its outcome wins).
  Every key carries the topic's tag {ns:compensation:topic}, so the call touches one Cluster slot.

  KEYS[1]  schedule zset    {ns:compensation:topic}:zset   (id → next attempt time, ms)
  KEYS[2]  payload hash     {ns:compensation:topic}:data   (id → entry JSON)
  KEYS[3]  lease hash       {ns:compensation:topic}:lease  (id → owner token)
  KEYS[4]  dead-letter zset {ns:compensation:topic}:dead   (id → when dead-lettered, ms)

  ARGV[1]  action:
             'complete'  delete the entries (schedule, payload, lease)
             'retry'     rewrite the payload, schedule the next attempt at ARGV[3], drop the lease
             'dead'      rewrite the payload, move the id to the dead-letter zset at ARGV[3], drop the lease
  ARGV[2]  owner token that must still hold each entry's lease (non-empty)
  ARGV[3]  'complete': '' (unused); 'retry': next attempt time; 'dead': now (ms, integer)
  ARGV[4…] 'complete': ids (at least one); 'retry'/'dead': pairs id, entry JSON (at least one)

  Reply: how many entries were settled (entries leased by someone else, or gone, are skipped).
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local schedule = KEYS[1]
local data = KEYS[2]
local lease = KEYS[3]
local dead = KEYS[4]
local action = ARGV[1]
local owner = ARGV[2]
local score = tonumber(ARGV[3])
local argc = #ARGV

-- Check the whole shape first, so a malformed call writes nothing.
if action ~= 'complete' and action ~= 'retry' and action ~= 'dead' then
  return redis.error_reply("ERR_RSP_ARGS action must be 'complete', 'retry' or 'dead'")
end
if owner == nil or owner == '' then
  return redis.error_reply('ERR_RSP_ARGS owner must not be empty')
end
if argc < 4 then
  return redis.error_reply('ERR_RSP_ARGS no entries given')
end
local step = 1
if action ~= 'complete' then
  step = 2
  if score == nil or score ~= math.floor(score) then
    return redis.error_reply('ERR_RSP_ARGS time must be an integer')
  end
  if (argc - 3) % 2 ~= 0 then
    return redis.error_reply('ERR_RSP_ARGS expected id/JSON pairs, got ' .. (argc - 3) .. ' arguments')
  end
end
for i = 4, argc, step do
  if ARGV[i] == '' or (step == 2 and ARGV[i + 1] == '') then
    return redis.error_reply('ERR_RSP_ARGS empty id or JSON at argument ' .. i)
  end
end

local settled = 0
for i = 4, argc, step do
  local id = ARGV[i]
  if redis.call('HGET', lease, id) == owner then
    redis.call('HDEL', lease, id)
    if action == 'complete' then
      redis.call('ZREM', schedule, id)
      redis.call('HDEL', data, id)
    elseif action == 'retry' then
      redis.call('HSET', data, id, ARGV[i + 1])
      redis.call('ZADD', schedule, score, id)
    else
      redis.call('HSET', data, id, ARGV[i + 1])
      redis.call('ZREM', schedule, id)
      redis.call('ZADD', dead, score, id)
    end
    settled = settled + 1
  end
end
return settled
