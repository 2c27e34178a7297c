"""Drives sessiond's browser sign-in with Authlib, a client nobody here wrote.

Usage: authlib_code_flow.py BASE_URL REDIRECT_URI POST_LOGOUT_URI USERNAME PASSWORD
                            CONFIDENTIAL_ID CONFIDENTIAL_SECRET PUBLIC_ID

Authlib's OAuth2Session runs the authorization code flow with PKCE S256,
first as a confidential client (client_secret_basic), then as a public one
(client_id only) in the same browser, which single sign-on lets through
without a password. A `requests` session with its cookie jar is the
browser: it fills in the login and consent forms as a person would. Each
ID token is validated with authlib.jose against /jwks.json (signature,
iss, aud, exp, nonce, at_hash); then UserInfo, a refresh, and RP-Initiated
Logout, after which every token of the session is dead.
Exits non-zero with a message on the first thing that does not work.
"""
import secrets
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

(base, redirect_uri, post_logout_uri, username, password,
 confidential_id, confidential_secret, public_id) = sys.argv[1:9]
meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())


def check(cond, what):
    if not cond:
        sys.exit(f"authlib code flow: {what}")


class Forms(HTMLParser):
    """The hidden fields of each form on a page, by the form's action."""

    def __init__(self, html):
        super().__init__()
        self.forms, self._action = {}, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._action = a.get("action")
            self.forms.setdefault(self._action, {})
        elif tag == "input" and self._action and a.get("type") == "hidden":
            self.forms[self._action][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._action = None


browser = requests.Session()  # its cookie jar holds sessiond's cookies


def submit(page, action, **fields):
    """Posts the form of `page` whose action is `action`, as a browser would."""
    forms = Forms(page.text).forms
    check(action in forms, f"no form {action} on the page: {page.status_code} {page.text[:300]}")
    return browser.post(f"{base}{action}", data={**forms[action], **fields}, headers={"Origin": base},
                        allow_redirects=False, timeout=10)


def sign_in(client, *, expect_login):
    """One authorization: returns the token response and the nonce sent."""
    verifier, nonce = generate_token(64), generate_token(24)
    url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    query = parse_qs(urlsplit(url).query)
    check(query["code_challenge_method"] == ["S256"] and "code_challenge" in query, f"PKCE S256 in {url}")
    page = browser.get(url, allow_redirects=False, timeout=10)
    if expect_login:
        check(page.status_code == 200 and 'action="/login"' in page.text, f"login page: {page.status_code}")
        page = submit(page, "/login", username=username, password=password)
        check(any(c.name == "sessiond" for c in browser.cookies), "signed in: the SSO cookie is in the jar")
    else:
        check('action="/login"' not in page.text, "single sign-on: no password asked again")
    if page.status_code == 200 and 'action="/consent"' in page.text:
        page = submit(page, "/consent", decision="allow")
    check(page.status_code in (302, 303), f"redirect back: {page.status_code} {page.text[:300]}")
    location = page.headers["Location"]
    check(location.startswith(redirect_uri + "?"), f"back to the redirect URI: {location}")
    back = parse_qs(urlsplit(location).query)
    check(back.get("iss") == [meta["issuer"]], f"RFC 9207 iss in {location}")
    # Authlib checks state and takes the code from the redirect.
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, state=state,
                               code_verifier=verifier)
    check(token["token_type"] == "Bearer" and "id_token" in token and "refresh_token" in token, f"tokens: {list(token)}")
    return token, nonce


def id_claims(token, client_id, nonce, access_token=None):
    """The ID token validated by authlib.jose: signature against /jwks.json,
    iss, aud, exp, iat, nonce, and at_hash against the access token."""
    claims = jwt.decode(
        token["id_token"], jwks, claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": meta["issuer"]}},
        claims_params={"nonce": nonce, "client_id": client_id,
                       "access_token": access_token or token["access_token"]},
    )
    claims.validate()
    return claims


def refusal(token, client_id, nonce, access_token=None):
    """The claim validation refused, or None if it passed. (Authlib raises
    its own or joserfc's InvalidClaimError, depending on its version.)"""
    try:
        id_claims(token, client_id, nonce, access_token)
    except Exception as e:  # noqa: BLE001 - the class depends on the version
        check(type(e).__name__ == "InvalidClaimError", f"an invalid claim, not {e!r}")
        return str(e)
    return None


def userinfo(client):
    return client.get(meta["userinfo_endpoint"], timeout=10)


rp = OAuth2Session(confidential_id, confidential_secret, scope="openid profile api:read",
                   redirect_uri=redirect_uri, code_challenge_method="S256",
                   token_endpoint_auth_method="client_secret_basic")
app = OAuth2Session(public_id, None, scope="openid profile api:read", redirect_uri=redirect_uri,
                    code_challenge_method="S256", token_endpoint_auth_method="none")

sessions = []
for client, client_id, first in ((rp, confidential_id, True), (app, public_id, False)):
    token, nonce = sign_in(client, expect_login=first)
    claims = id_claims(token, client_id, nonce)
    check("at_hash" in claims and claims["aud"] == client_id and "sid" in claims, f"ID token claims {dict(claims)}")
    # The checks are real: another nonce, or another access token, fail.
    check("nonce" in (refusal(token, client_id, generate_token(24)) or ""), "a different nonce is refused")
    check("at_hash" in (refusal(token, client_id, nonce, token["access_token"] + "x") or ""), "at_hash is checked")

    info = userinfo(client)
    check(info.status_code == 200, f"userinfo {info.status_code} {info.text}")
    info = info.json()
    check(info["sub"] == claims["sub"] and info.get("preferred_username") == username, f"userinfo {info}")

    old = token
    token = client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    check(token["refresh_token"] != old["refresh_token"], "refresh rotates")
    check(userinfo(client).status_code == 200, "the refreshed access token works")
    sessions.append((client, client_id, token, old, claims))

# Both clients are in one browser session.
check(sessions[0][4]["sid"] == sessions[1][4]["sid"], "single sign-on: one session, one sid")

# RP-Initiated Logout, as the public client sends the browser there.
state = secrets.token_urlsafe(16)
logout = meta["end_session_endpoint"] + "?" + urlencode({
    "id_token_hint": sessions[1][3]["id_token"],
    "post_logout_redirect_uri": post_logout_uri,
    "state": state,
})
page = browser.get(logout, allow_redirects=False, timeout=10)
check(page.status_code in (302, 303), f"logout redirects: {page.status_code} {page.text[:300]}")
check(page.headers["Location"] == f"{post_logout_uri}?{urlencode({'state': state})}",
      f"back to the post-logout URI with state: {page.headers['Location']}")
check(not any(c.name == "sessiond" for c in browser.cookies), "the SSO cookie is gone from the jar")

# Logging out logged out: every client's tokens of that session.
for client, client_id, token, old, _ in sessions:
    check(userinfo(client).status_code == 401, f"{client_id}: userinfo after logout")
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    if client is rp:
        r = requests.post(meta["token_endpoint"], data=form, auth=(client_id, confidential_secret), timeout=10)
    else:
        r = requests.post(meta["token_endpoint"], data={**form, "client_id": client_id}, timeout=10)
    check(r.status_code == 400 and r.json().get("error") == "invalid_grant", f"{client_id}: refresh after logout {r.text}")
active = rp.introspect_token(meta["introspection_endpoint"], token=sessions[0][2]["access_token"]).json()
check(active == {"active": False}, f"introspection after logout: {active}")

# The browser is asked for its password again.
page = browser.get(rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=generate_token(64),
                                               nonce=generate_token(24))[0], allow_redirects=False, timeout=10)
check(page.status_code == 200 and 'action="/login"' in page.text, "signed out: the login page again")

print("authlib code flow: ok")
