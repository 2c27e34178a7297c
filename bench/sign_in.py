#!/usr/bin/env python3
"""COUNT password-grant sign-ins (each a new session); prints each one's
refresh token, one a line: the starts of refresh chains (bench/lua/refresh.lua).

    sign_in.py TOKEN_URL CLIENT_ID CLIENT_SECRET USERNAME PASSWORD COUNT [PARALLEL]

Loopback only. Exits non-zero if any sign-in is not answered 200 with a
refresh token (the server must run with the sign-in limiters off for more
than a few: SESSIOND_LOGIN_ATTEMPTS_PER_IP=0, SESSIOND_LOGIN_ATTEMPTS_PER_ACCOUNT=0).
"""
import base64
import json
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def main(argv):
    if len(argv) not in (6, 7):
        sys.exit(__doc__)
    url, client, secret, user, password, count = argv[:6]
    parallel = int(argv[6]) if len(argv) == 7 else 2
    host = urllib.parse.urlparse(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        sys.exit(f"refusing non-loopback target {url}")
    auth = "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode()
    body = urllib.parse.urlencode({"grant_type": "password", "username": user, "password": password}).encode()

    def one(_):
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)["refresh_token"]

    with ThreadPoolExecutor(parallel) as pool:
        tokens = list(pool.map(one, range(int(count))))
    print("\n".join(tokens))


if __name__ == "__main__":
    main(sys.argv[1:])
