-- Refresh-token rotation (RFC 6749 §6), one chain per connection.
--
-- TOKENS_FILE holds one refresh token per line, each the start of its own
-- chain (its own grant); there must be at least as many as connections.
-- The tokens are shared out between wrk's threads in setup(). A thread's
-- chains wait in a queue: request() takes a token from it, response()
-- puts the successor from the answer back. wrk asks a connection for its
-- next request only after that connection's answer was read, and a thread
-- has as many tokens as connections, so the queue is never empty while a
-- connection is free and every token is presented exactly once — a token
-- presented twice would be reuse and end its session.
--
-- wrk 4.1 calls request() once more, on the first thread, before any
-- connection exists: to check that the script makes a valid request
-- (script_verify_request). That call must not take a token, or its chain
-- would be lost; setup() marks the first thread, and its first request() is
-- answered with one for an unknown token (never sent).
--
-- A chain ends on a non-2xx answer (or a lost connection); a connection
-- that then finds no token sends an unknown one, counted in `starved` and
-- answered 400, so every broken chain shows as errors.
--
-- Tokens in flight when wrk stops are consumed on the server but never
-- read: every run needs fresh chains (bench/http-throughput.sh and
-- bench/growth.sh make them).
-- Env: TOKENS_FILE, AUTH_HEADER, TOKEN_PATH (default: the URL's path),
--      REFRESH_SCOPE (optional), PERF_LUA_DIR (the shared lib.lua).
local lib = dofile((os.getenv("PERF_LUA_DIR") or ".") .. "/lib.lua")
local hdrs = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = os.getenv("AUTH_HEADER"),
  ["Accept"] = "application/json",
}
local path = os.getenv("TOKEN_PATH")
local scope = os.getenv("REFRESH_SCOPE") or ""
local suffix = scope ~= "" and ("&scope=" .. lib.urlencode(scope)) or ""

-- main state: share the tokens out, thread by thread
local all, next_thread = nil, 0
local function load_tokens()
  local file = assert(os.getenv("TOKENS_FILE"), "TOKENS_FILE required")
  local t = {}
  for line in io.lines(file) do if line ~= "" then t[#t + 1] = line end end
  return t
end

-- thread state
chains = nil          -- set by setup()
verify_call = false   -- set by setup() on the first thread
local queue, head, tail = {}, 1, 0

non2xx, rotated, starved = 0, 0, 0

local function body(token)
  return "grant_type=refresh_token&refresh_token=" .. lib.urlencode(token) .. suffix
end

init = function(args)
  for _, t in ipairs(chains or {}) do tail = tail + 1; queue[tail] = t end
end

request = function()
  if verify_call then
    verify_call = false
    return wrk.format("POST", path, hdrs, body("no-chain-left"))
  end
  if head <= tail then
    local t = queue[head]; queue[head] = nil; head = head + 1
    return wrk.format("POST", path, hdrs, body(t))
  end
  starved = starved + 1
  return wrk.format("POST", path, hdrs, body("no-chain-left"))
end

response = function(status, headers, resp)
  if status < 200 or status > 299 then non2xx = non2xx + 1; return end
  local t = resp and resp:match('"refresh_token"%s*:%s*"([^"]+)"')
  if t then
    rotated = rotated + 1
    tail = tail + 1; queue[tail] = t
  else
    non2xx = non2xx + 1
  end
end
-- lib.install keeps the response() above (it adds one only if there is none)
-- and defines done() and a setup(), replaced here by one that also shares
-- out the chains.
lib.install(true, { "rotated", "starved" })
setup = function(thread)
  table.insert(lib.threads, thread)
  if not all then all = load_tokens() end
  local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  local per = math.floor(#all / nthreads)
  local mine = {}
  for i = next_thread * per + 1, (next_thread + 1) * per do mine[#mine + 1] = all[i] end
  thread:set("chains", mine)
  thread:set("verify_call", next_thread == 0)
  next_thread = next_thread + 1
end
