--[[
  check-batch: tells whether a batch of a producer landed on its shard, and fences it if it did
  not, so a copy still travelling (a lost reply, a paused server) can never land afterwards.
  Run by the producer before it moves past a batch whose reply was lost, and by the replayer
  before it replays a record parked as "possibly persisted".

  KEYS[1]  idempotence state of the producer on the shard, e.g. {ns:topic:3}:p:<producerId>
           ("<lastSeq> <firstId> <count> <lastId>", see publish-batch.lua)
  KEYS[2]  set of this producer's sequences on the shard that were found to have landed after
           their reply was lost, e.g. {ns:topic:3}:p:<producerId>:landed; it keeps the answer
           exact after later batches overwrite the state in KEYS[1]
  ARGV[1]  the batch's sequence number
  ARGV[2]  time to keep the state and the set, in ms (when this call writes them)

  Reply: 1 = the batch is in the stream; 0 = it is not, and now never will be
  Errors (before anything is written):
    'ERR_RSP_ARGS <what>'  the arguments do not have the shape above
]]
local stateKey = KEYS[1]
local landedKey = KEYS[2]
local seq = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
if seq == nil or seq < 1 or ttl == nil or ttl < 1 then
  return redis.error_reply('ERR_RSP_ARGS sequence and ttl must be positive integers')
end
--- @include "idempotence-state"
local lastSeq, firstId = readState(stateKey)
if lastSeq == seq then
  if firstId == '-' then return 0 end
  -- Remember it: the producer's next batch overwrites the state, and a parked copy (say, in a
  -- journal drained later) must still get this answer.
  redis.call('SADD', landedKey, seq)
  redis.call('PEXPIRE', landedKey, ttl)
  return 1
end
if lastSeq > seq then
  -- A later batch of this producer landed. The producer sends one only after settling this one
  -- with this very script, which fenced it if it had not landed and recorded it if it had.
  return redis.call('SISMEMBER', landedKey, seq)
end
redis.call('SET', stateKey, seq .. ' - 0', 'PX', ttl)
return 0
