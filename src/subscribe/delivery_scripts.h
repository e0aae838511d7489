// Server-side scripts of the delivery path. Each touches only keys of one
// channel's hash tag ({channel}), so each runs on one Redis Cluster node.
//
// Every message a consumer holds has a lease in the retry set (score = due ms):
// taken in the same script that reads it, so a crash at any point leaves the
// message in the set, and whichever instance sees it due delivers it again.
#pragma once

namespace ms::subscribe {

// KEYS[1] log, KEYS[2] retry set, KEYS[3] the group's read counter. ARGV[1] group,
// ARGV[2] consumer, ARGV[3] count, ARGV[4] lease due ms. Returns XREADGROUP's
// entries of the one stream (or nil). The counter (set when the group was made,
// see kCreateGroupScript) counts the entries ever added up to the group's
// position; it is kept by us because Redis 7.0 loses a group's entries-read when
// it reloads its AOF.
inline constexpr const char* kReadScript = R"lua(
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], '>')
if not r then return nil end
local entries = r[1][2]
for i = 1, #entries do redis.call('ZADD', KEYS[2], ARGV[4], entries[i][1]) end
if #entries > 0 and redis.call('EXISTS', KEYS[3]) == 1 then redis.call('INCRBY', KEYS[3], #entries) end
return entries
)lua";

// KEYS[1] log, KEYS[2] retry set, KEYS[3] attempts hash. ARGV[1] group, ARGV[2] consumer,
// ARGV[3] now ms, ARGV[4] count, ARGV[5] lease due ms.
// Takes due entries (re-leasing them), claims them for the consumer and returns
// {entry id, fields, attempts so far} for each entry still in the log.
inline constexpr const char* kClaimDueScript = R"lua(
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for i = 1, #ids do
  local id = ids[i]
  local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id)
  local att = redis.call('HGET', KEYS[3], id) or '0'
  if claimed[1] and claimed[1][2] then
    redis.call('ZADD', KEYS[2], ARGV[5], id)
    out[#out + 1] = {id, claimed[1][2], att}
  else
    -- acknowledged meanwhile, or trimmed from the log (XCLAIM drops it from the
    -- pending list then): nothing left to deliver, drop the lease
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
return out
)lua";

// KEYS[1] log, KEYS[2] retry set, KEYS[3] attempts hash. ARGV[1] group, ARGV[2..] entry ids.
// Done with these entries: acknowledged, lease and attempt record dropped.
inline constexpr const char* kAckScript = R"lua(
local n = 0
for i = 2, #ARGV do
  n = n + redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[3], ARGV[i])
end
return n
)lua";

// KEYS[1] retry set, KEYS[2] attempts hash. ARGV[1] entry id, ARGV[2] due ms,
// ARGV[3] attempts made. Schedules the next attempt.
inline constexpr const char* kRetryScript = R"lua(
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
)lua";

// KEYS[1] log, KEYS[2] retry set, KEYS[3] attempts hash. ARGV[1] group, ARGV[2] consumer,
// ARGV[3] entry id, ARGV[4] due ms. Puts a dead-lettered (acknowledged) entry back
// into the group's pending list with a fresh attempt count, due at once.
// Returns 0 when the entry is no longer in the log (trimmed).
inline constexpr const char* kReplayScript = R"lua(
local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'FORCE')
if not c[1] then return 0 end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('HDEL', KEYS[3], ARGV[3])
return 1
)lua";

// KEYS[1] retry set, KEYS[2] attempts hash. ARGV[1] entry id, ARGV[2] due ms.
// A nack: the attempt on record (the delivery that got the 2xx) failed after all;
// the message is delivered again, as the next attempt, at the due time. Returns the
// attempts on record, or 0 when the entry is not held (already acknowledged).
inline constexpr const char* kNackScript = R"lua(
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local a = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if a < 1 then
  a = 1
  redis.call('HSET', KEYS[2], ARGV[1], a)
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return a
)lua";

// Ordered subscriptions: one instance at a time serves a channel, the holder of
// the channel's owner key. KEYS[1] owner key, KEYS[2] log, KEYS[3] retry set.
// ARGV[1] instance id, ARGV[2] owner TTL ms, ARGV[3] group, ARGV[4] "1" when this
// process has not served the channel yet (a start, a restart or a takeover).
// Returns 0 when another instance owns the channel; else the owner key is (re)set
// with the TTL and 1 is returned — after, on a fresh start, every entry pending in
// the group (whoever held it) is made due at once, ranked in log order, so the
// claim-due script hands them over oldest first, before anything new is read.
inline constexpr const char* kOwnScript = R"lua(
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if owner and ARGV[4] ~= '1' then return 1 end
local pending = redis.call('XPENDING', KEYS[2], ARGV[3], '-', '+', 100000)
for i = 1, #pending do redis.call('ZADD', KEYS[3], i, pending[i][1]) end
return 1
)lua";

// KEYS[1] owner key. ARGV[1] instance id. Gives the channel up (graceful stop) if
// this instance still owns it. Returns 1 when it did.
inline constexpr const char* kReleaseOwnerScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// KEYS[1] log, KEYS[2] the group's read counter. ARGV[1] group, ARGV[2] start id
// ("0" or an entry id). Creates the subscription's group (MKSTREAM) and sets its
// read counter to how many entries were ever added up to the start, when that is
// cheap to tell (the start before, after or within 10,000 entries of the end of
// the stream; else the counter is left unset: unknown). With it, entries-added -
// counter is what the group has not read yet, trimmed entries included: that is
// how stats.at_risk sees owed messages retention already dropped. Returns 1 when
// created, 0 when the group exists.
inline constexpr const char* kCreateGroupScript = R"lua(
local function cmp(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return nil end
  if #am ~= #bm then return #am < #bm and -1 or 1 end
  if am ~= bm then return am < bm and -1 or 1 end
  if #as ~= #bs then return #as < #bs and -1 or 1 end
  if as ~= bs then return as < bs and -1 or 1 end
  return 0
end
local read = nil
if redis.call('EXISTS', KEYS[1]) == 0 then
  read = 0
else
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  local len, added, first, last = 0, 0, nil, nil
  for i = 1, #info, 2 do
    local k, v = info[i], info[i + 1]
    if k == 'length' then len = v
    elseif k == 'entries-added' then added = v
    elseif k == 'first-entry' and type(v) == 'table' then first = v[1]
    elseif k == 'last-entry' and type(v) == 'table' then last = v[1] end
  end
  if len == 0 or not first or not last then
    read = added
  elseif ARGV[2] == '0' or cmp(ARGV[2], first) == -1 then
    read = added - len
  elseif cmp(ARGV[2], last) ~= -1 then
    read = added
  else
    local after = redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', 10001)
    if #after <= 10000 then read = added - #after end
  end
end
local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], ARGV[2], 'MKSTREAM')
if type(r) == 'table' and r.err then
  if string.find(r.err, 'BUSYGROUP', 1, true) then return 0 end
  return r
end
if read then redis.call('SET', KEYS[2], read) else redis.call('DEL', KEYS[2]) end
return 1
)lua";

// KEYS[1] the subscriptions hash. ARGV[1] id, ARGV[2] the stored JSON the change
// was made from, ARGV[3] the new JSON, ARGV[4] control channel, ARGV[5] its message.
// Writes (and announces) the change only if nobody changed the subscription since
// it was read: 1 when written, 0 when it changed or is gone.
inline constexpr const char* kReplaceSubscriptionScript = R"lua(
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
)lua";

// KEYS[1] log, KEYS[2] retry set. ARGV[1] group, ARGV[2] the dead consumer, ARGV[3]
// now ms, ARGV[4] how many at most. The messages a dead instance held (its pending
// entries in the group) are made due now, so the claim-due script of whichever
// live instance runs next XCLAIMs them with their attempt counts. Returns
// {pending entries of the dead consumer seen, made due}.
inline constexpr const char* kTakeOverScript = R"lua(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', tonumber(ARGV[4]), ARGV[2])
local n = 0
for i = 1, #p do
  local due = redis.call('ZSCORE', KEYS[2], p[i][1])
  if not due or tonumber(due) > tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[2], ARGV[3], p[i][1])
    n = n + 1
  end
end
return {#p, n}
)lua";

}  // namespace ms::subscribe
