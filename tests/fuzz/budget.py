"""How long the fuzz suite fuzzes. HYPOTHESIS_PROFILE=ci (the default) keeps the whole
suite near a minute; HYPOTHESIS_PROFILE=deep runs thirty times as many examples, for a
longer local hunt. HYPOTHESIS_SEED=<n> replays a run whose seed the summary printed."""

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings

BASE: dict[str, Any] = {
    "deadline": None,
    "derandomize": False,
    "print_blob": True,
    # The site is built once per test and each example rolls its writes back, so the
    # function-scoped fixtures are deliberately shared between examples; some inputs are
    # slow to generate or to handle by design.
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
}
settings.register_profile("ci", max_examples=8, **BASE)
settings.register_profile("deep", max_examples=240, **BASE)


def fuzz_settings(weight: float = 1) -> Callable[[Any], Any]:
    """The current profile's settings, with `weight` times its number of examples (a
    target with more to explore gets more)."""
    return settings(max_examples=max(1, round(settings.default.max_examples * weight)))
