-- One company's token bucket of one group of endpoints, shared by every gateway node (RateLimiter).
-- KEYS[1]  the bucket: a hash {tokens, ts}; one key per company and group, so the script touches one key (one slot)
-- ARGV[1]  capacity = refill per minute (burst up to the same number)
-- Returns 0 when a token was taken, else the milliseconds until one is available (nothing taken).
-- The clock is Redis's own (TIME), so nodes with skewed clocks share one bucket exactly; the key expires once a full
-- bucket would be refilled, so idle companies cost no memory.
redis.replicate_commands() -- TIME before a write: replicate the effects, not the script (a no-op on Redis 7)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
    tokens = cap
    ts = now
end
if now > ts then
    tokens = math.min(cap, tokens + (now - ts) * cap / 60000)
    ts = now
end
local wait = 0
if tokens >= 1 then
    tokens = tokens - 1
else
    wait = math.ceil((1 - tokens) * 60000 / cap)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], 61000)
return wait
