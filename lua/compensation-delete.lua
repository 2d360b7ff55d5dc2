--[[
  compensation-delete: delete entries of one topic regardless of leases (an operator's purge, or
  the producer learning that a possibly-persisted record did land).
  Every key carries the topic's tag {ns:compensation:topic}, so the call touches one Cluster slot.

  KEYS[1]  schedule zset    {ns:compensation:topic}:zset   (id → next attempt time, ms)
  KEYS[2]  payload hash     {ns:compensation:topic}:data   (id → entry JSON)
  KEYS[3]  lease hash       {ns:compensation:topic}:lease  (id → owner token)
  KEYS[4]  dead-letter zset {ns:compensation:topic}:dead   (id → when dead-lettered, ms)
  KEYS[5]  done zset        {ns:compensation:topic}:done   (id → when replayed or found landed, ms)

  ARGV[1]  what to delete:
             'ids'      the ids in ARGV[2…] (at least one), pending or dead
             'landed'   the ids in ARGV[3…] (at least one), which are in their stream: also
                        remembered in the done set for ARGV[2] ms, so a late copy is not parked again
             'pending'  the first ARGV[2] entries of the schedule (a positive integer)
             'dead'     the first ARGV[2] entries of the dead-letter zset (a positive integer)
  ARGV[2…] see ARGV[1]

  Reply: how many entries were deleted (for 'pending'/'dead': fewer than ARGV[2] means none are left).
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local schedule = KEYS[1]
local data = KEYS[2]
local lease = KEYS[3]
local dead = KEYS[4]
local done = KEYS[5]
local mode = ARGV[1]
local argc = #ARGV

local ids
local first = 2 -- where the ids start in ARGV, for 'ids' and 'landed'
local keepMs
if mode == 'ids' or mode == 'landed' then
  if mode == 'landed' then
    first = 3
    keepMs = tonumber(ARGV[2])
    if keepMs == nil or keepMs < 0 or keepMs ~= math.floor(keepMs) then
      return redis.error_reply('ERR_RSP_ARGS time must be a non-negative integer')
    end
  end
  if argc < first then
    return redis.error_reply('ERR_RSP_ARGS no ids given')
  end
  for i = first, argc do
    if ARGV[i] == '' then
      return redis.error_reply('ERR_RSP_ARGS empty id at argument ' .. i)
    end
  end
elseif mode == 'pending' or mode == 'dead' then
  local limit = tonumber(ARGV[2])
  if argc ~= 2 or limit == nil or limit < 1 or limit ~= math.floor(limit) then
    return redis.error_reply('ERR_RSP_ARGS expected one positive integer limit')
  end
  ids = redis.call('ZRANGE', mode == 'dead' and dead or schedule, 0, limit - 1)
else
  return redis.error_reply("ERR_RSP_ARGS mode must be 'ids', 'landed', 'pending' or 'dead'")
end

local function delete(id)
  local hits = redis.call('ZREM', schedule, id) + redis.call('ZREM', dead, id)
    + redis.call('HDEL', data, id) + redis.call('HDEL', lease, id)
  if hits > 0 then return 1 end
  return 0
end

local deleted = 0
if ids == nil then
  local now
  if keepMs ~= nil then
    if redis.replicate_commands then redis.replicate_commands() end -- Redis < 7: TIME before writes
    local time = redis.call('TIME')
    now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  for i = first, argc do
    deleted = deleted + delete(ARGV[i])
    if now ~= nil then redis.call('ZADD', done, now, ARGV[i]) end
  end
  if now ~= nil then redis.call('ZREMRANGEBYSCORE', done, '-inf', now - keepMs) end
else
  for _, id in ipairs(ids) do
    deleted = deleted + delete(id)
  end
end
return deleted
