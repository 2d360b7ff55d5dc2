--[[
  compensation-park: park undeliverable records of one topic in its compensation store.
  Every key carries the topic's tag {ns:compensation:topic}, so the call touches one Cluster slot.
  Parking a record that is already parked (same id, pending or dead) keeps the first copy; a record
  that was replayed already (its id is in the done set) is not parked again, so a second copy of
  it (a journal drained late, a park whose reply was lost) can never be replayed twice.

  KEYS[1]  schedule zset    {ns:compensation:topic}:zset  (id → order: when it was parked, ms)
  KEYS[2]  payload hash     {ns:compensation:topic}:data  (id → entry JSON)
  KEYS[3]  dead-letter zset {ns:compensation:topic}:dead  (id → when dead-lettered, ms)
  KEYS[4]  done zset        {ns:compensation:topic}:done  (id → when replayed, ms)

  ARGV[1…] entry triples: id, order (integer ms), entry JSON (at least one triple)

  Reply: how many entries were new (the others were already parked or replayed and are left as they are).
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local schedule = KEYS[1]
local data = KEYS[2]
local dead = KEYS[3]
local done = KEYS[4]
local argc = #ARGV

-- Check the whole shape first, so a malformed call writes nothing.
if argc < 3 or argc % 3 ~= 0 then
  return redis.error_reply('ERR_RSP_ARGS expected id/order/JSON triples, got ' .. argc .. ' arguments')
end
for i = 1, argc, 3 do
  local order = tonumber(ARGV[i + 1])
  if ARGV[i] == '' or ARGV[i + 2] == '' or order == nil or order ~= math.floor(order) then
    return redis.error_reply('ERR_RSP_ARGS bad id, order or JSON at argument ' .. i)
  end
end

local parked = 0
for i = 1, argc, 3 do
  local id = ARGV[i]
  -- A dead-lettered copy stays dead (requeueing it is an operator's decision); a replayed one is done.
  if redis.call('ZSCORE', dead, id) == false and redis.call('ZSCORE', done, id) == false then
    if redis.call('HSETNX', data, id, ARGV[i + 2]) == 1 then
      parked = parked + 1
    end
    redis.call('ZADD', schedule, 'NX', ARGV[i + 1], id)
  end
end
return parked
