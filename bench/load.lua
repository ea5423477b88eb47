-- wrk script for make bench. bench/wrk.py runs it with one thread (-t 1): the deals are not
-- shared out between threads, and only thread 0 gets wrk's inspecting call to request().
--
--   wrk ... -s bench/load.lua URL -- pay DEALS_FILE
--       POST /api/transactions/<deal>/pay for each line "<deal id> <phone> <access token>" of
--       DEALS_FILE, each deal once (Idempotency-Key: the deal id); 202 counts as ok. When every
--       deal is answered it prints "all answered <ok>" (bench/wrk.py then stops wrk). A connection
--       that finds no deal left sends GET /api/health instead, counted as "exhausted".
--   wrk ... -s bench/load.lua URL -- push FIRST_PHONE STATUS [COUNT]
--       POST URL with {"phone": "<FIRST_PHONE + n>"}, a new phone each request; STATUS counts
--       as ok (the LPUSH floor answers 202, the inline baseline 200). With COUNT, prints
--       "all answered <ok>" once COUNT requests are answered (it goes on sending until stopped).
--
-- done() prints one JSON line: requests, duration_us, ok, bad, exhausted, p50_us, p99_us,
-- statuses (answers by HTTP status, fillers left out) and socket_errors.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local mode, deals, next_deal, answered, phone, verified, count = nil, {}, 0, 0, 0, false, nil
ok, bad, exhausted, expect, statuses = 0, 0, 0, 202, {}

function init(args)
  mode = args[1]
  if mode == "pay" then
    for line in io.lines(args[2]) do
      local deal, number, token = line:match("^(%S+) (%S+) (%S+)$")
      table.insert(deals, wrk.format("POST", "/api/transactions/" .. deal .. "/pay", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = "bench-" .. deal,
      }, '{"phone": "' .. number .. '"}'))
    end
    count = #deals
  else
    phone = tonumber(args[2]) + id * 10000000
    expect = tonumber(args[3])
    count = tonumber(args[4])
  end
end

function request()
  if not verified then  -- wrk calls request() once before connecting, to inspect it
    verified = true
    return wrk.format("GET", "/api/health")
  end
  if mode == "pay" then
    next_deal = next_deal + 1
    if next_deal > #deals then
      exhausted = exhausted + 1
      return wrk.format("GET", "/api/health")
    end
    return deals[next_deal]
  end
  phone = phone + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                    string.format('{"phone": "%d"}', phone))
end

function response(status, headers, body)
  if mode == "pay" and status == 200 then
    return  -- a filler's answer (GET /api/health)
  end
  if status == expect then ok = ok + 1 else bad = bad + 1 end
  statuses[status] = (statuses[status] or 0) + 1
  answered = answered + 1
  if answered == count then
    io.write("all answered " .. ok .. "\n")
    io.flush()
  end
end

function done(summary, latency, requests)
  local totals = {ok = 0, bad = 0, exhausted = 0}
  for _, thread in ipairs(threads) do
    for name in pairs(totals) do totals[name] = totals[name] + thread:get(name) end
  end
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local listed = {}
  for status, n in pairs(counts) do table.insert(listed, string.format('"%d": %d', status, n)) end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "ok": %d, "bad": %d, "exhausted": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "statuses": {%s}, "socket_errors": %d}\n',
    summary.requests, summary.duration, totals.ok,
    totals.bad + e.connect + e.read + e.write + e.timeout, totals.exhausted,
    latency:percentile(50), latency:percentile(99), table.concat(listed, ", "),
    e.connect + e.read + e.write + e.timeout))
end
