-- RFC 7009 revocations of refresh tokens: each thread presents each token of its share of the
-- pool once (every request ends a live grant: the full revocation path, never the cheap answer
-- for an unknown token), and stops when its share runs out.
-- Usage: wrk -s revoke.lua URL -- TOKEN_FILE THREADS ; env BENCH_BASIC = base64(id:secret)
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local tokens = {}
local next_token = 1
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
  local token = tokens[next_token]
  if token == nil then
    wrk.thread:stop()
    token = "exhausted"
  end
  next_token = next_token + 1
  return wrk.format(nil, "/oauth2/revoke", nil, "token_type_hint=refresh_token&token=" .. token)
end
