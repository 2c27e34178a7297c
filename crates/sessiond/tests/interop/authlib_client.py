"""Drives sessiond with Authlib, an OAuth 2.0 client nobody here wrote.

Usage: authlib_client.py BASE_URL CLIENT_ID CLIENT_SECRET USERNAME PASSWORD
Exits non-zero with a message on the first thing that does not work.
"""
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt

base, client_id, secret, username, password = sys.argv[1:6]
meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
token_url = meta["token_endpoint"]
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())


def check(cond, what):
    if not cond:
        sys.exit(f"authlib interop: {what}")


def claims_of(access_token):
    claims = jwt.decode(access_token, jwks, claims_options={"iss": {"essential": True, "value": meta["issuer"]}})
    claims.validate()
    return claims


for method in ("client_secret_basic", "client_secret_post"):
    session = OAuth2Session(client_id, secret, token_endpoint_auth_method=method)

    # client_credentials
    token = session.fetch_token(token_url, grant_type="client_credentials")
    check(token["token_type"] == "Bearer", f"{method}: client_credentials token_type")
    check(claims_of(token["access_token"])["sub"] == client_id, f"{method}: client token sub")

    # password grant: a session, with a refresh token
    token = session.fetch_token(token_url, username=username, password=password)
    claims = claims_of(token["access_token"])
    check("sid" in claims and "refresh_token" in token, f"{method}: password grant gives sid and refresh_token")

    # refresh (rotation: a new refresh token)
    refreshed = session.refresh_token(token_url, refresh_token=token["refresh_token"])
    check(refreshed["refresh_token"] != token["refresh_token"], f"{method}: refresh rotates")
    check(claims_of(refreshed["access_token"])["sid"] == claims["sid"], f"{method}: same session after refresh")

    # RFC 7662 then RFC 7009, through Authlib's own helpers
    active = session.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"]).json()
    check(active.get("active") is True and active.get("username") == username, f"{method}: introspection {active}")
    r = session.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")
    check(r.status_code == 200, f"{method}: revocation status {r.status_code}")
    gone = session.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"]).json()
    check(gone == {"active": False}, f"{method}: revoking the refresh token ends its access token: {gone}")

    # A wrong password is an OAuth error, not a browser challenge.
    r = requests.post(token_url, auth=(client_id, secret), timeout=10,
                      data={"grant_type": "password", "username": username, "password": "wrong"})
    check(r.status_code == 400 and r.json()["error"] == "invalid_grant", "wrong password is invalid_grant")
    check("www-authenticate" not in {k.lower() for k in r.headers}, "no WWW-Authenticate on a wrong password")

print("authlib interop: ok")
