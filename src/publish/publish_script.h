// The server-side script that persists one message atomically.
#pragma once

namespace ms::publish {

// KEYS[1] log stream, KEYS[2] meta hash, KEYS[3] idempotency key (optional).
// ARGV[1] envelope JSON without position (uncompressed)
// ARGV[2] stored payload, '' when it is ARGV[1] itself (not compressed)
// ARGV[3] '1' when the stored payload is gzip, else '0'
// ARGV[4] byte offset in ARGV[1] where '"position":"<id>",' is spliced for the mirror
// ARGV[5] approximate MAXLEN of the stream (retention by count)
// ARGV[6] idempotency window in ms
// ARGV[7] published_at (Unix ms)
// ARGV[8] pub/sub channel of the live mirror
// ARGV[9] idempotency record prefix "<message id> <published_at ms> "
// ARGV[10] minimum entry id kept (retention by age), '' for none
// ARGV[11] the publish span's "<traceparent>[ <tracestate>]", stored so deliveries continue its trace
// Returns {1, entry id} when stored, {0, idempotency record} for a repeat.
inline constexpr const char* kPublishScript = R"lua(
if KEYS[3] then
  local prev = redis.call('GET', KEYS[3])
  if prev then return {0, prev} end
end
local payload = ARGV[2]
if payload == '' then payload = ARGV[1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'e', payload, 'z', ARGV[3], 't', ARGV[11])
if ARGV[10] ~= '' then redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[10]) end
redis.call('HINCRBY', KEYS[2], 'published_total', 1)
redis.call('HSET', KEYS[2], 'last_published_at', ARGV[7], 'last_position', id)
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[9] .. id, 'PX', ARGV[6]) end
local off = tonumber(ARGV[4])
redis.call('PUBLISH', ARGV[8], string.sub(ARGV[1], 1, off) .. '"position":"' .. id .. '",' .. string.sub(ARGV[1], off + 1))
return {1, id}
)lua";

}  // namespace ms::publish
