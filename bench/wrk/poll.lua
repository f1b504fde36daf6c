-- wrk script of the poll benchmark (bench/poll.py writes the data file and runs wrk).
--
--   wrk -t2 -c16 -d15s -s bench/wrk/poll.lua http://127.0.0.1:PORT -- DATA_FILE
--
-- Each line of DATA_FILE is one request: a path, then "Name: value" headers, tab-separated.
-- Every call sends a line picked at random. Each thread tallies the status codes it got
-- (2xx, 304, other), and done() prints one machine-readable line, "WRK_JSON {...}", with
-- the request count, duration, socket errors, latency percentiles and those tallies.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

local requests = {}

function init(args)
   local file = assert(io.open(args[1], "r"), "cannot open the data file " .. tostring(args[1]))
   for line in file:lines() do
      if line ~= "" then
         local fields = {}
         for field in line:gmatch("[^\t]+") do
            table.insert(fields, field)
         end
         local headers = {}
         for i = 2, #fields do
            local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
            headers[name] = value
         end
         table.insert(requests, wrk.format("GET", fields[1], headers))
      end
   end
   file:close()
   assert(#requests > 0, "the data file has no request")
   math.randomseed(os.time() * 1000 + id)
   c2xx, c304, cother = 0, 0, 0
end

function request()
   return requests[math.random(#requests)]
end

function response(status, headers, body)
   if status == 304 then
      c304 = c304 + 1
   elseif status >= 200 and status < 300 then
      c2xx = c2xx + 1
   else
      cother = cother + 1
   end
end

function done(summary, latency, _requests)
   local s2xx, s304, sother = 0, 0, 0
   for _, thread in ipairs(threads) do
      s2xx = s2xx + thread:get("c2xx")
      s304 = s304 + thread:get("c304")
      sother = sother + thread:get("cother")
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "mean": %.1f, "max": %d}, ' ..
      '"status": {"2xx": %d, "304": %d, "other": %d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max,
      s2xx, s304, sother))
end
