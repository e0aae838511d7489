-- wrk script for scripts/run-bench: POSTs one fixed body with content-type
-- application/json and prints a machine-readable summary line.
--   WRK_BODY_FILE     file holding the request body (required)
--   WRK_HEADERS_FILE  optional, extra "name: value" header lines
-- wrk's own latency histogram gives the percentiles (closed loop: each of the
-- connections sends its next request when the previous one was answered).
local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

wrk.method = "POST"
wrk.body = read_file(assert(os.getenv("WRK_BODY_FILE"), "WRK_BODY_FILE not set"))
wrk.headers["Content-Type"] = "application/json"
local hf = os.getenv("WRK_HEADERS_FILE")
if hf and hf ~= "" then
  for line in read_file(hf):gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then wrk.headers[k] = v end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_s=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d bytes=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout, summary.bytes))
end
