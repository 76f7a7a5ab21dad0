-- wrk script for the Ingest load scenarios: POST a 512-byte JSON event.
--   wrk -t2 -c64 -d30s --latency -s load/post.lua http://127.0.0.1:5080/
-- Setting wrk.method/body/headers (and no request() function) lets wrk build the request once,
-- so the load generator spends as little of the shared CPU as possible.
-- done() prints one machine-readable line (INGEST_RESULT ...) that load/run.sh parses: wrk's
-- --latency block stops at 99%, the histogram behind it also has 99.9%.
--
-- Environment:
--   INGEST_LOAD_EVENTS=N         N events per request as NDJSON (one event per line, '\n' between
--                                lines), content type application/x-ndjson. Default 1: the plain event.
--   INGEST_LOAD_API_KEY=KEY      sends x-api-key: KEY.
--   INGEST_LOAD_COUNT_STATUS=1   also counts answers by status (a response() function: costs some
--                                load-generator CPU, so only the delivery and memory scenarios use it)
--                                and prints them as status_2xx= status_503= retry_after_503= status_other=.
--   INGEST_LOAD_BODY_FILE=PATH   writes the body to PATH (load/run.sh hands it to h2load).

local prefix = '{"device":"dev-000042","type":"telemetry","ts":"2026-11-25T21:14:44.123Z","seq":1234567,'
  .. '"readings":{"temperature":21.5,"humidity":48.2,"battery":3.71,"rssi":-67},'
  .. '"tags":["load","wrk","ingest"],"pad":"'
local suffix = '"}'
local event = prefix .. string.rep("x", 512 - #prefix - #suffix) .. suffix
assert(#event == 512, "event must be exactly 512 bytes, is " .. #event)

local events = tonumber(os.getenv("INGEST_LOAD_EVENTS") or "1") or 1
assert(events >= 1 and events == math.floor(events), "INGEST_LOAD_EVENTS must be a whole number >= 1")

local body = event
wrk.headers["Content-Type"] = "application/json"
if events > 1 then
  local lines = {}
  for i = 1, events do lines[i] = event end
  body = table.concat(lines, "\n")
  wrk.headers["Content-Type"] = "application/x-ndjson"
end

wrk.method = "POST"
wrk.body = body

local api_key = os.getenv("INGEST_LOAD_API_KEY")
if api_key ~= nil and api_key ~= "" then
  wrk.headers["x-api-key"] = api_key
end

-- load/run.sh reuses the exact same body for h2load (-d FILE).
local out = os.getenv("INGEST_LOAD_BODY_FILE")
if out ~= nil and out ~= "" then
  local f = assert(io.open(out, "wb"))
  f:write(body)
  f:close()
end

local count_status = os.getenv("INGEST_LOAD_COUNT_STATUS") == "1"
local threads = {}

if count_status then
  function setup(thread)
    table.insert(threads, thread)
  end

  -- Runs in each thread's own Lua state: plain globals are per thread, summed in done().
  ok, s503, ra503, other = 0, 0, 0, 0
  function response(status, headers, body)
    if status >= 200 and status < 300 then
      ok = ok + 1
    elseif status == 503 then
      s503 = s503 + 1
      if headers["Retry-After"] ~= nil or headers["retry-after"] ~= nil then
        ra503 = ra503 + 1
      end
    else
      other = other + 1
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local counts = ""
  if count_status then
    local t = { ok = 0, s503 = 0, ra503 = 0, other = 0 }
    for _, thread in ipairs(threads) do
      for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
    end
    counts = string.format(" status_2xx=%d status_503=%d retry_after_503=%d status_other=%d", t.ok, t.s503, t.ra503, t.other)
  end
  io.write(string.format(
    "INGEST_RESULT requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d events_per_request=%d%s\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max, events, counts))
end
