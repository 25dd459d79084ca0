import os
import random

import pytest
from hypothesis import core, settings

from . import budget  # noqa: F401 (registers the profiles)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    # One seed for the run, random unless given, and printed at the end: a failure found
    # in CI can be replayed exactly with HYPOTHESIS_SEED (or --hypothesis-seed).
    if core.global_force_seed is None:
        seed = os.environ.get("HYPOTHESIS_SEED") or str(random.randrange(2**32))  # noqa: S311
        core.global_force_seed = int(seed)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    seed = core.global_force_seed
    terminalreporter.write_line(
        f"fuzz: profile {settings.default._current_profile if hasattr(settings.default, '_current_profile') else os.environ.get('HYPOTHESIS_PROFILE', 'ci')}, "
        f"seed {seed} (HYPOTHESIS_SEED={seed} replays it)"
    )
