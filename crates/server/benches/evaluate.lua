-- wrk script: POST /v1/evaluate with a fresh Okta sign-in per request.
--   wrk -t2 -c32 -d20s -s crates/server/benches/evaluate.lua http://127.0.0.1:PORT/v1/evaluate
-- (set TOKEN in the environment to an ingest or admin token)
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

local cities = {
  {"81.2.69.160", "Paris", "France", 48.8566, 2.3522},
  {"202.12.27.33", "Tokyo", "Japan", 35.6762, 139.6503},
  {"198.51.100.7", "Chicago", "United States", 41.8781, -87.6298},
}

function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local n = thread_id * 100000000 + counter
  local user = n % 5000
  local c = cities[(user % 3) + 1]
  if n % 97 == 0 then c = cities[((n // 97) % 3) + 1] end
  local t = os.date("!%Y-%m-%dT%H:%M:%SZ", 1740823200 + thread_id * 10000000 + counter)
  local body = string.format(
    '{"uuid":"wrk-%d","published":"%s","eventType":"user.session.start",' ..
    '"actor":{"id":"1","type":"User","alternateId":"user%d@example.com"},' ..
    '"outcome":{"result":"SUCCESS"},"client":{"ipAddress":"%s","geographicalContext":' ..
    '{"city":"%s","country":"%s","geolocation":{"lat":%f,"lon":%f}}}}',
    n, t, user, c[1], c[2], c[3], c[4], c[5])
  return wrk.format(nil, nil, nil, body)
end
