"""The Public Suffix List helpers (core/domains.py) work from the bundled list only."""

import socket

import pytest

from core import domains


@pytest.mark.parametrize("suffix", ["co.uk", "com", "github.io", "blogspot.com", "uk"])
def test_public_suffixes_of_both_sections_are_recognized(suffix: str) -> None:
    assert domains.is_public_suffix(suffix)
    assert domains.registrable_domain(suffix) is None


@pytest.mark.parametrize("domain", ["attacker.co.uk", "example.org", "someone.github.io"])
def test_registrable_domains_are_not_suffixes(domain: str) -> None:
    assert not domains.is_public_suffix(domain)
    assert domains.registrable_domain("mail." + domain) == domain


def test_only_icann_suffixes_count_as_icann() -> None:
    assert domains.is_icann_public_suffix("co.uk")
    assert not domains.is_icann_public_suffix("github.io")


def test_the_list_loads_and_answers_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Public Suffix List must not go to the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    domains._list.cache_clear()
    domains._icann_list.cache_clear()
    assert domains.is_public_suffix("co.uk")
    assert domains.is_icann_public_suffix("co.uk")
    assert domains.registrable_domain("bob.attacker.co.uk") == "attacker.co.uk"
