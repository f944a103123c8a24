-- wrk's script for `python -m bench --segments` (bench/segments_wrk.py): each request POSTs
-- the bench cart for a random seeded customer; at the end one JSON line of the figures.
local customers = tonumber(os.getenv("BENCH_CUSTOMERS"))
local cart = os.getenv("BENCH_CART")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_API_KEY")

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  local body = '{"customer_id": "c-' .. math.random(0, customers - 1) .. '", "order": ' .. cart .. '}'
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d,'
    .. ' "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
