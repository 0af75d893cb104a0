-- Counts responses by HTTP status, across wrk's threads, and prints them as one line:
-- wrk counts redirects as successes, and a redirect to the login page is a failure here.
-- With WRK_PAGES=N in the environment, each request asks for the next of N pages
-- (`page=1..N`, each wrk thread starting elsewhere, all shifted by WRK_PAGE_OFFSET), so
-- no two requests are the same.
local threads = {}
local pages = tonumber(os.getenv("WRK_PAGES") or "")
local offset = tonumber(os.getenv("WRK_PAGE_OFFSET") or "0")

function setup(thread)
  table.insert(threads, thread)
  thread:set("page", (#threads - 1) * 1000)
end

function init(args)
  statuses = {}
end

if pages then
  function request()
    page = page % pages + 1
    local separator = string.find(wrk.path, "?", 1, true) and "&" or "?"
    return wrk.format(nil, wrk.path .. separator .. "page=" .. (offset + page))
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, status .. "=" .. count)
  end
  table.sort(parts)
  io.write("STATUSES " .. table.concat(parts, " ") .. "\n")
  io.write(string.format("LATENCY_US p50=%d p90=%d p99=%d max=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
