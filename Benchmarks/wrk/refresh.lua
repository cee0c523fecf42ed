-- Refresh grants with real rotation: each thread holds a pool of live refresh tokens (more
-- than its connections), presents each once, and replaces it with the successor from the
-- answer, so every request is a first use of a current token (never the grace path).
-- Usage: wrk -s refresh.lua URL -- TOKEN_FILE THREADS ; env BENCH_BASIC = base64(id:secret)
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local tokens = {}
local failures = 0
function init(args)
  local threads = tonumber(args[2])
  local index = 0
  for line in io.lines(args[1]) do
    if index % threads == id then tokens[#tokens + 1] = line end
    index = index + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
end

function request()
  local token = table.remove(tokens, 1)
  if token == nil then
    error("refresh token pool exhausted: use fewer connections or more sessions")
  end
  return wrk.format(nil, "/oauth2/token", nil, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local successor = body:match('"refresh_token":"([^"]+)"')
  if status == 200 and successor then
    tokens[#tokens + 1] = successor
  else
    failures = failures + 1
  end
end
