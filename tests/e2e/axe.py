"""axe-core in the browser tests: the pinned copy scripts/fetch-axe puts in vendor/axe-core/
is injected into the page from disk (nothing is fetched from another origin), run with the
WCAG 2.1 A/AA and best-practice rules, and any serious or critical finding fails the test."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

AXE_JS = Path(
    os.environ.get(
        "AXE_JS", Path(__file__).resolve().parents[2] / "vendor" / "axe-core" / "axe.min.js"
    )
)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING_IMPACTS = {"serious", "critical"}
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}


def require_axe() -> Path:
    """The path of axe.min.js, or a skip (a failure in CI) saying how to get it."""
    if AXE_JS.is_file():
        return AXE_JS
    reason = f"axe-core not found at {AXE_JS}; run `make axe` (needs npm)"
    if os.environ.get("UNDERSIGNED_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}; CI must fetch it")
    pytest.skip(f"accessibility tests not run: {reason}")


@pytest.fixture
def axe_context_factory(browser):
    """New browser contexts for axe: bypass_csp, because the site's Content-Security-Policy
    rightly refuses the injected script; the pages themselves are unchanged."""
    require_axe()
    contexts = []

    def make(viewport: dict | None = None, **options):
        context = browser.new_context(viewport=viewport or DESKTOP, bypass_csp=True, **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def axe_page(axe_context_factory) -> Iterator[object]:
    yield axe_context_factory().new_page()


def axe_violations(page, *, context: str | None = None) -> list[dict]:
    """Runs axe on the page as it is now; returns the serious and critical violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(require_axe()))
    results = page.evaluate(
        """([tags, context]) => axe.run(context || document,
               {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        [AXE_TAGS, context],
    )
    return [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:8]:
            target = " ".join(str(t) for t in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {target}  {summary[:200]}")
    return "\n".join(lines)


def assert_accessible(page, name: str, *, context: str | None = None) -> None:
    """Fails with each rule id, its help text and the offending nodes' selectors."""
    violations = axe_violations(page, context=context)
    assert not violations, f"axe on {name} ({page.url}):\n{describe(violations)}"
