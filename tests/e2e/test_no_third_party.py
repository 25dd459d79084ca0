"""Privacy by construction, in a real browser: every page a reader, a signer or the team
sees loads everything from this site and nothing from anywhere else, breaks nothing in
its Content-Security-Policy, and a reader carries no cookie away from reading.

Every request the browser makes (the pages, their frames, scripts' fetches) is recorded;
any to another origin fails the test. CSP violations are caught twice: Chromium's console
message ("Refused to ...") and the page's `securitypolicyviolation` event.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress

from tests.test_privacy import SitePages, site_pages

from .conftest import screenshot
from .test_moderation_in_browser import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)

# Runs in every frame before its own scripts; init scripts are not subject to the page's
# policy, so this can report what the policy refused.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} refused ${event.blockedURI || "inline"}`
    + ` in ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Watch:
    """What the browser did while the pages were shown, page by page."""

    site: str
    current: str = "start"
    foreign: dict[str, list[str]] = field(default_factory=dict)
    violations: dict[str, list[str]] = field(default_factory=dict)
    requests: int = 0
    paths: set[str] = field(default_factory=set)

    def on_request(self, request) -> None:
        url = request.url
        if urlsplit(url).scheme not in ("http", "https", "ws", "wss"):
            return  # data:, blob:, about: never leave the browser
        self.requests += 1
        self.paths.add(urlsplit(url).path)
        if origin(url) != self.site:
            self.foreign.setdefault(self.current, []).append(url)

    def on_console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or text.startswith(("Refused to", "CSP violation")):
            self.violations.setdefault(self.current, []).append(text[:300])

    def seen(self, path: str) -> bool:
        return path in self.paths

    def problems(self) -> dict[str, dict[str, list[str]]]:
        return {k: v for k, v in {"foreign": self.foreign, "csp": self.violations}.items() if v}


@pytest.fixture
def site(settings, live_server) -> SitePages:
    settings.SITE_URL = live_server.url
    pages = site_pages()
    EmailAddress.objects.create(
        user=pages.owner, email=pages.owner.email, verified=True, primary=True
    )
    return pages


@pytest.fixture
def watched(browser, live_server) -> Iterator[Callable[..., tuple[object, object, Watch]]]:
    contexts = []

    def make(**options: object) -> tuple[object, object, Watch]:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        contexts.append(context)
        watch = Watch(site=origin(live_server.url))
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("request", watch.on_request)
        context.on("console", watch.on_console)
        return context, context.new_page(), watch

    yield make
    for context in contexts:
        context.close()


def visit(page, watch: Watch, base: str, pages: dict[str, str], prefix: str = "") -> None:
    """Open each page and wait until the network is quiet (frames, fetches, the API docs'
    script loading the OpenAPI document); each must answer, none may bounce to log-in."""
    for name, path in pages.items():
        watch.current = f"{prefix}{name} {path}"
        response = page.goto(base + path, wait_until="networkidle")
        if name == "api-docs":
            # Swagger UI renders the API's title once its script has fetched the document.
            page.locator(".swagger-ui .info .title").wait_for(timeout=20_000)
        expected = 404 if name == "not-found" else 200
        assert response.status == expected, (watch.current, response.status)
        assert "/accounts/login/" not in page.url or name == "login", (watch.current, page.url)


def test_reader_pages_load_nothing_from_elsewhere_and_leave_no_cookie(
    watched, live_server, site: SitePages
) -> None:
    context, page, watch = watched()
    visit(page, watch, live_server.url, site.public)
    assert watch.requests > 2 * len(site.public)  # pages and their CSS, scripts, images
    assert watch.seen("/api/v1/openapi.json")  # the docs' own script ran and fetched it
    assert watch.problems() == {}
    assert context.cookies() == [], "reading set a cookie"

    # Signing: the form posts without a token, and the answer sets no cookie either.
    watch.current = "signing"
    page.goto(f"{live_server.url}{site.public['letter']}")
    page.get_by_label("Full name").fill("Rosa Reader")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("I agree that my signature").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url("**/signed/**")
    assert site.letter.signatures.filter(email_normalized="rosa@example.org").exists()

    watch.current = "confirming"
    page.goto(f"{live_server.url}{site.public['confirm']}")
    page.get_by_role("button", name="Confirm my signature").click()
    page.wait_for_load_state("networkidle")
    site.pending.refresh_from_db()
    assert site.pending.status == site.pending.Status.VERIFIED
    screenshot(page, "privacy-confirmed-without-cookies")
    assert watch.problems() == {}
    assert context.cookies() == [], "signing set a cookie"


def test_account_and_team_pages_load_nothing_from_elsewhere(
    watched, live_server, site: SitePages
) -> None:
    context, page, watch = watched()
    visit(page, watch, live_server.url, site.accounts, prefix="anonymous ")
    log_in(page, live_server.url, site.owner.email)
    assert any(c["name"] == "sessionid" for c in context.cookies())
    visit(page, watch, live_server.url, site.team, prefix="signed-in ")
    # Pages a reader sees look different to the team (the header, a preview banner).
    visit(page, watch, live_server.url, site.public, prefix="signed-in ")

    # Setting up an authenticator app asks for the password again, then shows the QR code
    # as a data: image (allowed by img-src) rendered on this server, not by a QR service.
    watch.current = "mfa set-up"
    page.goto(f"{live_server.url}{site.team['mfa-setup']}")
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state("networkidle")
    assert page.locator('img[src^="data:image/svg+xml"]').is_visible()
    screenshot(page, "privacy-mfa-setup")
    assert watch.problems() == {}


def test_the_watch_sees_a_foreign_request_and_a_refused_inline_style(
    watched, live_server, site: SitePages
) -> None:
    """The checks above would pass vacuously if the watch saw nothing; it does not."""
    _context, page, watch = watched()
    watch.current = "privacy"
    page.route("http://elsewhere.invalid/**", lambda route: route.abort())
    page.goto(f"{live_server.url}{site.public['privacy']}", wait_until="networkidle")
    page.evaluate(
        """() => {
          const p = document.createElement("p");
          p.innerHTML = '<span style="color: red">x</span>';
          document.body.append(p);
          const img = document.createElement("img");
          img.src = "http://elsewhere.invalid/pixel.gif";
          document.body.append(img);
          return fetch("http://elsewhere.invalid/data.json").catch(() => null);
        }"""
    )
    page.wait_for_timeout(300)
    refused = " ".join(watch.violations.get("privacy", []))
    assert "style-src" in refused, "an inline style attribute was not refused"
    assert "img-src" in refused
    assert "connect-src" in refused
    # Chromium still announces the refused image as a request: the watch sees any attempt
    # to reach another origin, whether or not the policy stops it.
    assert "http://elsewhere.invalid/pixel.gif" in watch.foreign["privacy"]


def test_a_form_on_another_site_cannot_sign_in_the_readers_name(
    watched, live_server, site: SitePages
) -> None:
    """A page elsewhere (served here by the test under another origin) posts a signature
    to the letter: the browser says where the post came from, and it is refused."""
    _context, page, _watch = watched()
    sign_url = f"{live_server.url}/letters/{site.letter.slug}/sign/"
    attacker = f"""<!doctype html><title>Win a prize</title>
      <form method="post" action="{sign_url}">
        <input name="name" value="Forged Name"><input name="email" value="victim@example.org">
        <input name="consent" value="on"><input name="language" value="en">
        <button>Claim</button>
      </form>"""
    page.route(
        "http://attacker.invalid/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=attacker),
    )
    page.goto("http://attacker.invalid/prize")
    with page.expect_navigation():
        page.get_by_role("button", name="Claim").click()
    assert page.url == sign_url
    assert page.get_by_role("heading", name="This form was sent from another site").is_visible()
    screenshot(page, "privacy-cross-site-refused")
    assert not site.letter.signatures.filter(email_normalized="victim@example.org").exists()
