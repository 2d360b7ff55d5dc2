--[[
  idempotent-xadd: the least a server-side idempotent append of one record can do on Redis 7.0,
  the floor under the producer's script for a lone send. Reads the producer's last sequence, refuses
  one that is not newer, appends, and records the sequence: GET + XADD + SET, nothing else (no
  argument checks, no fencing, no reply for a duplicate, no trimming).

  KEYS[1]  the stream
  KEYS[2]  the producer's state key: "<lastSeq> <id>"
  ARGV[1]  sequence number of this record
  ARGV[2]  time to keep the state, in ms
  ARGV[3…] the entry's field names and values

  Reply: the entry id; error 'ERR_SEQ <last>' when the sequence is not newer
]]
local seq = tonumber(ARGV[1])
local state = redis.call('GET', KEYS[2])
local last = state and tonumber(string.match(state, '^%d+')) or 0
if seq <= last then return redis.error_reply('ERR_SEQ ' .. last) end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[2], seq .. ' ' .. id, 'PX', ARGV[2])
return id
