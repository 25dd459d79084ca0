import pytest

from core.normalize import normalize_email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ada@Example.ORG ", "ada@example.org"),
        ("A.d.a+letters@gmail.com", "ada@gmail.com"),
        ("ada@googlemail.com", "ada@gmail.com"),
        ("ada+news@outlook.com", "ada@outlook.com"),
        ("a.da@outlook.com", "a.da@outlook.com"),
        ("ada+tag@example.org", "ada+tag@example.org"),
        ("ada@bücher.example", "ada@xn--bcher-kva.example"),
        ("ada@example.org.", "ada@example.org"),
    ],
)
def test_addresses_normalize_to_one_identity(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "no-at-sign", "@example.org", "ada@", "+tag@gmail.com"])
def test_non_addresses_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("stufferg+1@hotmail.co.uk", "stufferg@hotmail.co.uk"),
        ("stufferg+2@outlook.fr", "stufferg@outlook.fr"),
        ("stufferg+3@live.co.uk", "stufferg@live.co.uk"),
        ("stufferg+4@outlook.com.au", "stufferg@outlook.com.au"),
        ("stufferg+5@protonmail.ch", "stufferg@proton.me"),
        ("stufferg@pm.me", "stufferg@proton.me"),
        ("StuffErg@ProtonMail.com", "stufferg@proton.me"),
        ("stufferg-shopping@yahoo.co.uk", "stufferg@yahoo.co.uk"),
        ("stufferg+x@yahoo.com", "stufferg+x@yahoo.com"),
        ("stufferg+x@fastmail.com", "stufferg@fastmail.com"),
        ("stufferg+x@icloud.com", "stufferg@icloud.com"),
        ('"stufferg"@gmail.com', "stufferg@gmail.com"),
        ('"stuff.erg+x"@gmail.com', "stufferg@gmail.com"),
        ('"stuff\\erg"@example.org', "stufferg@example.org"),
        ('"stuff erg"@example.org', '"stuff erg"@example.org'),
        ("ada@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.org", "ada@example.org"),  # full width
        ("ada@straße.de", "ada@xn--strae-oqa.de"),
        ("ada@xn--strae-oqa.de", "ada@xn--strae-oqa.de"),
        # Only the providers' own promises: dots count at Microsoft, tags elsewhere.
        ("a.da+x@hotmail.com", "a.da@hotmail.com"),
        ("ada+tag@liveexample.com", "ada+tag@liveexample.com"),
        ("ada+tag@outlook.example", "ada+tag@outlook.example"),
    ],
)
def test_provider_families_normalize_to_one_identity(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ['""@example.org', "-tag@yahoo.com", '"+tag"@gmail.com'])
def test_addresses_with_nothing_left_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_email(raw)


@pytest.mark.parametrize(
    "domain", ["hotmail.co.uk", "outlook.fr", "live.com.au", "protonmail.ch", "gmail.com"]
)
def test_the_anomaly_scan_knows_every_provider_the_normalizer_folds(domain: str) -> None:
    from core.normalize import is_common_provider, mail_provider

    assert mail_provider(domain) is not None
    assert is_common_provider(domain)


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        (None, ""),
    ],
)
def test_ip_group_is_the_address_or_its_ipv6_64(address: str | None, group: str) -> None:
    from core.normalize import ip_group

    assert ip_group(address) == group
