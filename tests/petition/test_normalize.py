import pytest

from petition.normalize import normalize_email


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
