-- A producer session's idempotence state on a shard, "<lastSeq> <firstId> <count> <lastId>" (see
-- publish-batch.lua; firstId '-' marks a fenced sequence, and a fence has no lastId). Returns
-- lastSeq, firstId, count, lastId and the raw string; 0, '-', 0, '+', nil when there is none.
local function readState(key)
  local state = redis.call('GET', key)
  if not state then return 0, '-', 0, '+', nil end
  local s, f, c, l = string.match(state, '^(%d+) (%S+) (%d+) ?(%S*)$')
  if l == nil or l == '' then l = '+' end
  return tonumber(s), f, tonumber(c), l, state
end
