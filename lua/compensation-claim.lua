--[[
  compensation-claim: lease the next parked entries of one topic to one replayer, keeping each
  shard's order. Entries are taken in schedule order (when parked, then id, which orders one
  producer session's records as they were sent). Once an entry of a shard is skipped (leased to
  someone, or its shard on hold after a failed replay), every later entry of that shard is skipped
  too, so a shard's records are never replayed out of order. Time is the server's (TIME), so
  replayers on hosts with different clocks agree on leases and holds.
  Every key carries the topic's tag {ns:compensation:topic}, so the call touches one Cluster slot.

  KEYS[1]  schedule zset {ns:compensation:topic}:zset   (id → order, ms)
  KEYS[2]  payload hash  {ns:compensation:topic}:data   (id → entry JSON)
  KEYS[3]  lease hash    {ns:compensation:topic}:lease  (id → "<owner> <lease end, ms>")
  KEYS[4]  hold hash     {ns:compensation:topic}:hold   (shard → no replay before, ms)

  ARGV[1]  most entries to claim (positive integer)
  ARGV[2]  lease length in ms (positive integer)
  ARGV[3]  owner token of the claiming replayer (non-empty, no spaces)

  Reply: flat array id1, json1, id2, json2 … of the claimed entries, in schedule order. Ids whose
  JSON is missing are dropped from the schedule and not returned.
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local schedule = KEYS[1]
local data = KEYS[2]
local lease = KEYS[3]
local hold = KEYS[4]
local limit = tonumber(ARGV[1])
local leaseMs = tonumber(ARGV[2])
local owner = ARGV[3]

if #ARGV ~= 3 then
  return redis.error_reply('ERR_RSP_ARGS expected 3 arguments, got ' .. #ARGV)
end
if limit == nil or limit < 1 or limit ~= math.floor(limit) then
  return redis.error_reply('ERR_RSP_ARGS limit must be a positive integer')
end
if leaseMs == nil or leaseMs < 1 or leaseMs ~= math.floor(leaseMs) then
  return redis.error_reply('ERR_RSP_ARGS lease must be a positive integer')
end
if owner == '' or string.find(owner, ' ', 1, true) then
  return redis.error_reply('ERR_RSP_ARGS owner must be non-empty without spaces')
end

if redis.replicate_commands then redis.replicate_commands() end -- Redis < 7: TIME before writes
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local leaseEnd = now + leaseMs

-- The shard of an entry id '<session>:<shard>:<seq>:<index>'; other ids form one group each.
local function shardOf(id)
  return string.match(id, ':(%d+):%d+:%d+$') or id
end

local blocked = {}
local function isBlocked(shard)
  if blocked[shard] == nil then
    local untilMs = tonumber(redis.call('HGET', hold, shard) or '0')
    blocked[shard] = untilMs > now
  end
  return blocked[shard]
end

local reply = {}
local claimed = 0
-- Bounded work per call (a few ms): entries of held or leased shards are looked at, not claimed,
-- and more than this many of them ahead of a claimable one delay it to a later call.
local budget = math.max(limit * 4, 10000)
local offset = 0
while claimed < limit and budget > 0 do
  local ids = redis.call('ZRANGE', schedule, offset, offset + 199)
  if #ids == 0 then break end
  offset = offset + #ids
  for _, id in ipairs(ids) do
    budget = budget - 1
    local shard = shardOf(id)
    if not isBlocked(shard) then
      local held = redis.call('HGET', lease, id)
      local heldUntil = held and tonumber(string.match(held, ' (%d+)$')) or 0
      if heldUntil > now then
        blocked[shard] = true
      else
        local json = redis.call('HGET', data, id)
        if json == false then
          redis.call('ZREM', schedule, id)
          redis.call('HDEL', lease, id)
          offset = offset - 1
        else
          redis.call('HSET', lease, id, owner .. ' ' .. leaseEnd)
          reply[#reply + 1] = id
          reply[#reply + 1] = json
          claimed = claimed + 1
          if claimed >= limit then break end
        end
      end
    end
    if budget <= 0 then break end
  end
end
return reply
