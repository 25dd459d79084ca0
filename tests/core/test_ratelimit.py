import warnings

import pytest
from django.core.cache import CacheKeyWarning

from core.ratelimit import Rate, rate_hits


@pytest.mark.parametrize(
    "typed",
    ["a" * 300 + "@example.org", "zoë@exämple.org", "two words@example.org", "tab\t@example.org"],
)
def test_keys_from_typed_text_are_valid_on_every_cache_backend(typed: str) -> None:
    # The cache warns where memcached would refuse a key (too long, spaces, control
    # characters); what a visitor typed must never make such a key.
    rate = Rate.parse("3/3600")
    assert rate is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        assert rate_hits([(f"manage-email:{typed}", rate)]) == [1]
        assert rate_hits([(f"manage-email:{typed}", rate)]) == [2]


def test_distinct_long_keys_count_apart() -> None:
    rate = Rate.parse("3/3600")
    assert rate is not None
    first, second = "a" * 300 + "@example.org", "b" * 300 + "@example.org"
    assert rate_hits([(first, rate), (second, rate)]) == [1, 1]
