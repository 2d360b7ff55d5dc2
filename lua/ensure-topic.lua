--[[
  ensure-topic: record a topic's shard count on first use and return the stored one, so every
  producer of a topic agrees on its shards.

  KEYS[1]  topic metadata hash, e.g. {ns:topic}:meta
  ARGV[1]  shard count this producer is configured with

  Reply: the shard count stored for the topic (ARGV[1] when this call stored it).
]]
local meta = KEYS[1]
redis.call('HSETNX', meta, 'shards', ARGV[1])
return tonumber(redis.call('HGET', meta, 'shards'))
