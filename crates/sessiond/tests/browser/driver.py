"""Drives a headless Chromium for the browser tests (tests/it/browser.rs).

Usage: driver.py RP_ORIGIN

Reads one JSON command a line on standard input and answers each with one
JSON line on standard output: the result, or {"driver_error": "..."}. The Rust
test decides what to do and checks what happened (token exchanges,
introspection); this script only clicks, types and reports which page the
browser is on.

Every browser context is one person's browser, with its own cookies. The
relying party at RP_ORIGIN is the test's own listener, answering every path
with a page marked #rp; the test reads the authorization response (the
code, or the error) from the URL the browser was sent to.
"""
import json
import sys
import traceback

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach
# Google's services, which a closed network answers with timeouts.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Each step is a page load on loopback; this is a bound, not a wait.
TIMEOUT_MS = 10_000

# Which page the browser is on, by the element only that page has.
MARKERS = [
    ("login", "#sign-in"),
    ("consent", "#allow"),
    ("logout", "#logout"),
    ("signed_out", "#signed-out"),
    ("account", "#change-password"),
    ("admin", "#find-user"),
    ("admin_user", "#disable, #enable"),
    ("error", "#error"),
]

# Reads the page: which one it is, and its error or status message.
DESCRIBE = """markers => {
    const found = markers.find(([, selector]) => document.querySelector(selector));
    const text = selector => document.querySelector(selector)?.innerText ?? null;
    return {
        kind: found ? found[0] : "unknown",
        rp: document.querySelector("#rp") !== null,
        error: text("#error"),
        message: text("#message"),
    };
}"""

# The session rows of the account and admin pages.
SESSIONS = """() => Array.from(document.querySelectorAll("tr.session"), row => ({
    sid: row.dataset.sid,
    current: row.classList.contains("current"),
    this_browser: row.querySelector(".this-browser") !== null,
    text: row.innerText,
}))"""

COMMANDS = {"open", "goto", "follow", "click", "fill", "login", "checked", "text", "sessions", "screenshot"}


class Driver:
    def __init__(self, playwright, rp_origin):
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        self.rp_origin = rp_origin
        self.pages = {}

    def page(self, cmd):
        name = cmd["ctx"]
        if name not in self.pages:
            raise KeyError(f"no browser context {name!r}; open it first")
        return self.pages[name]

    def describe(self, page, response=None):
        """The page the browser is on now (one round trip to the browser)."""
        seen = page.evaluate(DESCRIBE, MARKERS)
        kind = seen["kind"]
        if page.url.startswith(self.rp_origin + "/"):
            kind = "rp" if seen["rp"] else "rp_unreachable"
        status = response.status if response else None
        return {"url": page.url, "kind": kind, "status": status, "error": seen["error"], "message": seen["message"]}

    # --- commands ---------------------------------------------------------

    def open(self, cmd):
        """A new browser context (a person's browser) with one page."""
        options = {"viewport": {"width": 1000, "height": 700}}
        if cmd.get("user_agent"):
            options["user_agent"] = cmd["user_agent"]
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        self.pages[cmd["ctx"]] = context.new_page()
        return {}

    def goto(self, cmd):
        page = self.page(cmd)
        response = page.goto(cmd["url"], wait_until="load")
        return self.describe(page, response)

    def follow(self, cmd):
        """The application's page sends the browser to a URL, as a link or
        a redirect of the application would: a navigation that another
        site starts (SameSite cookies behave as they do for real)."""
        page = self.page(cmd)
        if not page.url.startswith(self.rp_origin + "/"):
            page.goto(self.rp_origin + "/", wait_until="load")
        with page.expect_navigation(wait_until="load") as navigation:
            page.evaluate("url => { window.location.assign(url); }", cmd["url"])
        return self.describe(page, navigation.value)

    def click(self, cmd):
        """Clicks what submits a form or follows a link, and waits for the
        page it leads to (after every redirect)."""
        page = self.page(cmd)
        target = page.locator(cmd["selector"])
        if target.count() != 1:
            raise ValueError(f"{cmd['selector']!r} matches {target.count()} elements on {page.url}")
        with page.expect_navigation(wait_until="load") as navigation:
            target.click()
        return self.describe(page, navigation.value)

    def fill(self, cmd):
        page = self.page(cmd)
        for selector, value in cmd["fields"].items():
            page.fill(selector, value)
        return {}

    def login(self, cmd):
        """Fills the login form and submits it."""
        self.fill({"ctx": cmd["ctx"], "fields": {"#username": cmd["username"], "#password": cmd["password"]}})
        return self.click({"ctx": cmd["ctx"], "selector": "#sign-in"})

    def checked(self, cmd):
        return {"checked": self.page(cmd).is_checked(cmd["selector"])}

    def text(self, cmd):
        """The visible text of every element matching a selector."""
        return {"texts": self.page(cmd).locator(cmd["selector"]).all_inner_texts()}

    def sessions(self, cmd):
        """The session rows of the account or admin page."""
        return {"sessions": self.page(cmd).evaluate(SESSIONS)}

    def screenshot(self, cmd):
        self.page(cmd).screenshot(path=cmd["path"], full_page=True, animations="disabled", caret="hide")
        return {}


def main():
    rp_origin = sys.argv[1]
    with sync_playwright() as playwright:
        driver = Driver(playwright, rp_origin)
        print(json.dumps({"ready": True}), flush=True)
        while line := sys.stdin.readline():
            if not line.strip():
                continue
            cmd = json.loads(line)
            if cmd["cmd"] == "quit":
                break
            try:
                if cmd["cmd"] not in COMMANDS:
                    raise ValueError("unknown command")
                result = getattr(Driver, cmd["cmd"])(driver, cmd)
            except Exception as e:  # reported to the test, which fails with it
                traceback.print_exc(file=sys.stderr)
                result = {"driver_error": f"{cmd['cmd']}: {type(e).__name__}: {e}"}
            print(json.dumps(result), flush=True)
        driver.browser.close()


if __name__ == "__main__":
    main()
