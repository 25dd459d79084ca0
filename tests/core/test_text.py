"""The Unicode policy for typed text, and look-alike skeletons (core/text.py)."""

import pytest

from core.text import TextKind, TextPolicyError, text_clean, text_skeleton

ZWSP = "\u200b"
RLO = "\u202e"

NAME = TextKind.NAME
# Mohammadreza, one word of two parts kept apart by a ZWNJ
PERSIAN = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"
PROSE = TextKind.PROSE


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("ACME" + RLO, "invisible_characters"),  # would reverse "(unverified)" after it
        (ZWSP, "invisible_characters"),  # a letter title of one zero-width space
        (ZWSP * 3 + "\u200c\u200d\u2060\ufeff", "invisible_characters"),
        ("\u202a\u202b\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c", "invisible_characters"),
        ("\U000e0041\U000e0064\U000e0061", "invisible_characters"),  # TAG characters
        ("Ada" + ZWSP + "Lovelace", "invisible_characters"),
        ("Ada\U000e0041", "invisible_characters"),
        ("Ada\ufe0f", "invisible_characters"),  # a variation selector in a name
        ("\u3164", "invisible_characters"),  # Hangul filler: a letter that draws nothing
        ("Z" + "\u0301\u0300\u0302" * 30, "combining_marks"),  # 90-mark zalgo
        ("Ada\ue000", "unassigned_characters"),
        ("Ada\U000e0fff", "unassigned_characters"),
        ("Ada\ufdd0", "noncharacters"),
        ("Ada\ud800", "noncharacters"),
        ("Ada\nBcc: x@example.org", "control_characters"),
        ("Ada\u2028Lovelace", "control_characters"),
        ("Ada\x00", "null_characters"),
        ("12345", "no_letter"),
        ("— · —", "no_letter"),
    ],
)
def test_names_with_invisible_control_or_piled_up_characters_are_refused(
    value: str, code: str
) -> None:
    with pytest.raises(TextPolicyError) as error:
        text_clean(value, kind=NAME)
    assert error.value.code == code


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("  Ada   Lovelace ", "Ada Lovelace"),
        ("Jose\u0301", "José"),  # NFC
        ("Nguyễn Thị Minh Khai", "Nguyễn Thị Minh Khai"),
        ("שָׁלוֹם עַלְיָה", "שָׁלוֹם עַלְיָה"),
        (PERSIAN, PERSIAN),  # ZWNJ in a Persian compound name
        ("क्\u200dष", "क्\u200dष"),  # ZWJ after a virama
        ("Ōtautahi 3M", "Ōtautahi 3M"),
        ("李小龍", "李小龍"),
    ],
)
def test_names_in_any_script_are_kept_in_nfc(value: str, stored: str) -> None:
    assert text_clean(value, kind=NAME) == stored


def test_a_zwnj_between_latin_letters_is_refused() -> None:
    with pytest.raises(TextPolicyError):
        text_clean("Ada\u200cLovelace", kind=NAME)


def test_emoji_sequences_are_kept_in_comments_and_refused_in_names() -> None:
    family = "👩\u200d👩\u200d👧 ❤\ufe0f 🏳\ufe0f\u200d🌈 👍🏽"
    assert text_clean(f"Well done {family}", kind=PROSE) == f"Well done {family}"
    with pytest.raises(TextPolicyError):
        text_clean("Ada 👩\u200d💻", kind=NAME)


def test_comments_keep_lines_and_tabs_but_not_other_controls_or_bidi() -> None:
    assert text_clean("one\r\ntwo\rthree\tfour", kind=PROSE) == "one\ntwo\nthree\tfour"
    for bad in ("a\x1b[2Jb", "a\x7fb", "yes" + RLO + "on", "a" + ZWSP + "b"):
        with pytest.raises(TextPolicyError):
            text_clean(bad, kind=PROSE)


def test_comments_need_no_letter_and_may_hold_private_use_characters() -> None:
    assert text_clean("+1 \ue000", kind=PROSE) == "+1 \ue000"


def test_four_stacked_marks_are_fine_and_five_are_not() -> None:
    text_clean("x\u0301\u0302\u0303\u0304", kind=NAME)
    with pytest.raises(TextPolicyError):
        text_clean("x\u0301\u0302\u0303\u0304\u0305", kind=NAME)


@pytest.mark.parametrize(
    "look_alike",
    [
        "Famous P\u0435rson",  # a Cyrillic e
        "Famous P" + ZWSP + "erson",
        "FAMOUS PERSON",
        "Famous\u00a0Person",
        "\uff26\uff41\uff4d\uff4f\uff55\uff53 \uff30\uff45\uff52\uff53\uff4f\uff4e",  # fullwidth
        "Fam\u043eus Pers\u043en",  # a Cyrillic o
        "Famous Per\u0455on",  # a Cyrillic dze
        "Famóus Persoń",
    ],
)
def test_look_alike_names_share_a_skeleton(look_alike: str) -> None:
    assert text_skeleton(look_alike) == text_skeleton("Famous Person")


def test_different_names_keep_different_skeletons() -> None:
    assert text_skeleton("Famous Person") != text_skeleton("Famous Parson")
