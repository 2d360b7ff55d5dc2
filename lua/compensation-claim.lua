--[[
  compensation-claim: lease the due entries of one topic to one replayer.
  A due entry has a schedule score <= now; claiming moves its score to the lease's end, so nobody
  else claims it until the lease expires (then anyone may, and the lease hash names the new owner).
  Every key carries the topic's tag {ns:compensation:topic}, so the call touches one Cluster slot.

  KEYS[1]  schedule zset {ns:compensation:topic}:zset   (id → next attempt time, ms)
  KEYS[2]  payload hash  {ns:compensation:topic}:data   (id → entry JSON)
  KEYS[3]  lease hash    {ns:compensation:topic}:lease  (id → owner token)

  ARGV[1]  now (ms since the epoch, integer): the caller's clock, not TIME
  ARGV[2]  most entries to claim (positive integer)
  ARGV[3]  lease length in ms (positive integer)
  ARGV[4]  owner token of the claiming replayer (non-empty)

  Reply: flat array id1, json1, id2, json2 … of the claimed entries, earliest due first. Ids whose
  JSON is missing are dropped from the schedule and not returned (so fewer than ARGV[2] may come back).
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local schedule = KEYS[1]
local data = KEYS[2]
local lease = KEYS[3]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
local owner = ARGV[4]

if #ARGV ~= 4 then
  return redis.error_reply('ERR_RSP_ARGS expected 4 arguments, got ' .. #ARGV)
end
if now == nil or now ~= math.floor(now) then
  return redis.error_reply('ERR_RSP_ARGS now must be an integer')
end
if limit == nil or limit < 1 or limit ~= math.floor(limit) then
  return redis.error_reply('ERR_RSP_ARGS limit must be a positive integer')
end
if leaseMs == nil or leaseMs < 1 or leaseMs ~= math.floor(leaseMs) then
  return redis.error_reply('ERR_RSP_ARGS lease must be a positive integer')
end
if owner == '' then
  return redis.error_reply('ERR_RSP_ARGS owner must not be empty')
end

local due = redis.call('ZRANGEBYSCORE', schedule, '-inf', now, 'LIMIT', 0, limit)
local leaseEnd = now + leaseMs
local reply = {}
for _, id in ipairs(due) do
  local json = redis.call('HGET', data, id)
  if json == false then
    redis.call('ZREM', schedule, id)
    redis.call('HDEL', lease, id)
  else
    redis.call('ZADD', schedule, 'XX', leaseEnd, id)
    redis.call('HSET', lease, id, owner)
    reply[#reply + 1] = id
    reply[#reply + 1] = json
  end
end
return reply
