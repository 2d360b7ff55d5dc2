--[[
  compensation-settle: what a replayer learned about entries it claimed, applied only to entries
  whose lease the caller still holds (after a lease expired another replayer may have claimed the
  entry: its outcome wins). Time is the server's (TIME).
  Every key carries the topic's tag {ns:compensation:topic}, so the call touches one Cluster slot.

  KEYS[1]  schedule zset    {ns:compensation:topic}:zset   (id → order, ms)
  KEYS[2]  payload hash     {ns:compensation:topic}:data   (id → entry JSON)
  KEYS[3]  lease hash       {ns:compensation:topic}:lease  (id → "<owner> <lease end, ms>")
  KEYS[4]  dead-letter zset {ns:compensation:topic}:dead   (id → when dead-lettered, ms)
  KEYS[5]  hold hash        {ns:compensation:topic}:hold   (shard → no replay before, ms)
  KEYS[6]  done zset        {ns:compensation:topic}:done   (id → when replayed, ms)

  ARGV[1]  action:
             'complete'  the entries are in their stream: delete them and remember their ids in the
                         done set for ARGV[3] ms (so a late copy is never parked again)
             'mark'      rewrite the payload (the replay batch about to carry it), keep the lease
             'retry'     rewrite the payload, drop the lease, and hold the entries' shards for
                         ARGV[3] ms: the shard's entries are retried together, in order, after it
             'dead'      rewrite the payload, move the id to the dead-letter zset, drop the lease
  ARGV[2]  owner token that must still hold each entry's lease (non-empty)
  ARGV[3]  'complete': how long to remember done ids (ms); 'retry': hold (ms); otherwise ''
  ARGV[4…] 'complete': ids (at least one); otherwise pairs id, entry JSON (at least one)

  Reply: how many entries were settled (entries leased by someone else, or gone, are skipped).
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local schedule = KEYS[1]
local data = KEYS[2]
local lease = KEYS[3]
local dead = KEYS[4]
local hold = KEYS[5]
local done = KEYS[6]
local action = ARGV[1]
local owner = ARGV[2]
local ms = tonumber(ARGV[3])
local argc = #ARGV

-- Check the whole shape first, so a malformed call writes nothing.
if action ~= 'complete' and action ~= 'mark' and action ~= 'retry' and action ~= 'dead' then
  return redis.error_reply("ERR_RSP_ARGS action must be 'complete', 'mark', 'retry' or 'dead'")
end
if owner == nil or owner == '' then
  return redis.error_reply('ERR_RSP_ARGS owner must not be empty')
end
if argc < 4 then
  return redis.error_reply('ERR_RSP_ARGS no entries given')
end
if (action == 'complete' or action == 'retry') and (ms == nil or ms < 0 or ms ~= math.floor(ms)) then
  return redis.error_reply('ERR_RSP_ARGS time must be a non-negative integer')
end
local step = 1
if action ~= 'complete' then
  step = 2
  if (argc - 3) % 2 ~= 0 then
    return redis.error_reply('ERR_RSP_ARGS expected id/JSON pairs, got ' .. (argc - 3) .. ' arguments')
  end
end
for i = 4, argc, step do
  if ARGV[i] == '' or (step == 2 and ARGV[i + 1] == '') then
    return redis.error_reply('ERR_RSP_ARGS empty id or JSON at argument ' .. i)
  end
end

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 7: TIME before writes
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local function holds(id)
  local held = redis.call('HGET', lease, id)
  return held and string.match(held, '^(%S+) ') == owner
end

local settled = 0
for i = 4, argc, step do
  local id = ARGV[i]
  if holds(id) then
    if action == 'complete' then
      redis.call('ZREM', schedule, id)
      redis.call('HDEL', data, id)
      redis.call('HDEL', lease, id)
      redis.call('ZADD', done, now, id)
    elseif action == 'mark' then
      redis.call('HSET', data, id, ARGV[i + 1])
    elseif action == 'retry' then
      redis.call('HSET', data, id, ARGV[i + 1])
      redis.call('HDEL', lease, id)
      local shard = string.match(id, ':(%d+):%d+:%d+$') or id
      local untilMs = now + ms
      if tonumber(redis.call('HGET', hold, shard) or '0') < untilMs then redis.call('HSET', hold, shard, untilMs) end
    else
      redis.call('HSET', data, id, ARGV[i + 1])
      redis.call('HDEL', lease, id)
      redis.call('ZREM', schedule, id)
      redis.call('ZADD', dead, now, id)
    end
    settled = settled + 1
  end
end
if action == 'complete' then
  redis.call('ZREMRANGEBYSCORE', done, '-inf', now - ms)
end
return settled
