-- One company's SSE connections across the gateway nodes (ConnectionLimits): a hash, field = node id,
-- value = "<count>:<expiresAtMillis>". Each node owns its field and rewrites it from its own count; a field whose
-- node stopped refreshing it (kill -9) counts no more once it expires and is removed by the next call.
-- KEYS[1]  the company's hash
-- ARGV[1]  this node's id
-- ARGV[2]  this node's count after the change
-- ARGV[3]  the field's lifetime, ms (the node refreshes it well within)
-- ARGV[4]  the cap (connections of the company on all nodes); 0 = no check (a release or a refresh)
-- Returns the other nodes' live count when the cap refused the change (nothing written), else -1.
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local node = ARGV[1]
local mine = tonumber(ARGV[2])
local cap = tonumber(ARGV[4])
local others = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
    if all[i] ~= node then
        local sep = string.find(all[i + 1], ':', 1, true)
        local n = tonumber(string.sub(all[i + 1], 1, sep - 1))
        local exp = tonumber(string.sub(all[i + 1], sep + 1))
        if exp <= now then
            redis.call('HDEL', KEYS[1], all[i])
        else
            others = others + n
        end
    end
end
if cap > 0 and others + mine > cap then
    return others
end
if mine > 0 then
    redis.call('HSET', KEYS[1], node, mine .. ':' .. (now + tonumber(ARGV[3])))
else
    redis.call('HDEL', KEYS[1], node)
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return -1
