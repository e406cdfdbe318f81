-- wrk script for bench/run.sh's daemon step: a light, steady load (each
-- connection waits WRK_DELAY_MS between requests, so wrk does not take the
-- cores the poll needs) and one line of latency percentiles at the end.
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "20")

function delay()
  return pause
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "latency p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d errors=%d non2xx=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status))
end
