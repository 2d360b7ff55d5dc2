--[[
  compensation-requeue: move dead-lettered entries back to the schedule, due at once, with the
  payload the caller rewrote (attempts reset). Ids no longer dead-lettered are skipped, so a
  requeue racing a purge or another requeue changes nothing twice.
  Every key carries the topic's tag {ns:compensation:topic}, so the call touches one Cluster slot.

  KEYS[1]  schedule zset    {ns:compensation:topic}:zset  (id → next attempt time, ms)
  KEYS[2]  payload hash     {ns:compensation:topic}:data  (id → entry JSON)
  KEYS[3]  dead-letter zset {ns:compensation:topic}:dead  (id → when dead-lettered, ms)

  ARGV[1]  now (ms since the epoch, integer): the entries' next attempt time
  ARGV[2…] entry pairs: id, entry JSON (at least one pair)

  Reply: how many entries were requeued.
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local schedule = KEYS[1]
local data = KEYS[2]
local dead = KEYS[3]
local now = tonumber(ARGV[1])
local argc = #ARGV

if now == nil or now ~= math.floor(now) then
  return redis.error_reply('ERR_RSP_ARGS now must be an integer')
end
if argc < 3 or (argc - 1) % 2 ~= 0 then
  return redis.error_reply('ERR_RSP_ARGS expected id/JSON pairs after the time, got ' .. (argc - 1) .. ' arguments')
end
for i = 2, argc, 2 do
  if ARGV[i] == '' or ARGV[i + 1] == '' then
    return redis.error_reply('ERR_RSP_ARGS empty id or JSON at argument ' .. i)
  end
end

local requeued = 0
for i = 2, argc, 2 do
  local id = ARGV[i]
  if redis.call('ZREM', dead, id) == 1 then
    redis.call('HSET', data, id, ARGV[i + 1])
    redis.call('ZADD', schedule, now, id)
    requeued = requeued + 1
  end
end
return requeued
