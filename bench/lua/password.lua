-- The password grant (RFC 6749 §4.3): a sign-in per request, each a new
-- session. Bounded by Argon2id and the sign-in gate's permits; run the
-- server with the sign-in limiters off (SESSIOND_LOGIN_ATTEMPTS_PER_IP=0,
-- SESSIOND_LOGIN_ATTEMPTS_PER_ACCOUNT=0) or nearly every answer is 429.
-- Env: USERNAMES (space-separated, used in turn), PASSWORD, AUTH_HEADER,
--      TOKEN_PATH (default: the URL's path), PERF_LUA_DIR (the shared lib.lua).
local lib = dofile((os.getenv("PERF_LUA_DIR") or ".") .. "/lib.lua")
local hdrs = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = os.getenv("AUTH_HEADER"),
  ["Accept"] = "application/json",
}
local path = os.getenv("TOKEN_PATH")
local password = lib.urlencode(assert(os.getenv("PASSWORD"), "PASSWORD required"))
local bodies = {}
for name in (assert(os.getenv("USERNAMES"), "USERNAMES required")):gmatch("%S+") do
  bodies[#bodies + 1] = "grant_type=password&username=" .. lib.urlencode(name) .. "&password=" .. password
end
local i = 0

non2xx, signed_in, busy = 0, 0, 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", path, hdrs, bodies[i])
end
response = function(status, headers, resp)
  if status >= 200 and status <= 299 then signed_in = signed_in + 1; return end
  non2xx = non2xx + 1
  if status == 503 or status == 429 then busy = busy + 1 end
end
lib.install(true, { "signed_in", "busy" })
