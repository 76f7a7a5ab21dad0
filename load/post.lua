-- wrk script for the Ingest load scenarios: POST a 512-byte JSON event.
--   wrk -t2 -c64 -d30s --latency -s load/post.lua http://127.0.0.1:5080/
-- Setting wrk.method/body/headers (and no request() function) lets wrk build the request once,
-- so the load generator spends as little of the shared CPU as possible.
-- done() prints one machine-readable line (INGEST_RESULT ...) that load/run.sh parses: wrk's
-- --latency block stops at 99%, the histogram behind it also has 99.9%.

local prefix = '{"device":"dev-000042","type":"telemetry","ts":"2026-11-25T21:14:44.123Z","seq":1234567,'
  .. '"readings":{"temperature":21.5,"humidity":48.2,"battery":3.71,"rssi":-67},'
  .. '"tags":["load","wrk","ingest"],"pad":"'
local suffix = '"}'
local body = prefix .. string.rep("x", 512 - #prefix - #suffix) .. suffix
assert(#body == 512, "body must be exactly 512 bytes, is " .. #body)

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"

-- load/run.sh reuses the exact same body for h2load (-d FILE).
local out = os.getenv("INGEST_LOAD_BODY_FILE")
if out ~= nil and out ~= "" then
  local f = assert(io.open(out, "wb"))
  f:write(body)
  f:close()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "INGEST_RESULT requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
