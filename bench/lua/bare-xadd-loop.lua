--[[
  bare-xadd-loop: the reference the producer's batch script is measured against. What a hand-rolled
  batching client writes: one XADD per record of the fields it is given, nothing else (no checks,
  no idempotence, no trimming).

  KEYS[1]  the stream
  ARGV[1]  arguments per record w (field names and values: 2 × fields)
  ARGV[2…] the records, w arguments each

  Reply: the number of entries written
]]
local w = tonumber(ARGV[1])
local n = 0
for i = 2, #ARGV, w do
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, i, i + w - 1))
  n = n + 1
end
return n
