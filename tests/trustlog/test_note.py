"""Signed notes and checkpoints against the Go checksum database's vectors
(golang.org/x/mod/sumdb/note), and C2SP's key id rule."""

import base64
import hashlib

import pytest

from trustlog import note
from trustlog.note import NoteError

PETER_PRIVATE = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_PUBLIC = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_PUBLIC = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def test_the_go_private_key_gives_the_go_verifier_key() -> None:
    signer = note.signer_parse(PETER_PRIVATE)
    assert signer.verifier.line() == PETER_PUBLIC
    assert signer.line() == PETER_PRIVATE
    assert note.verifier_parse(PETER_PUBLIC) == signer.verifier


def test_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    verifier = note.verifier_parse(PETER_PUBLIC)
    digest = hashlib.sha256(b"PeterNeumann\n\x01" + verifier.public_key).digest()
    assert verifier.key_id == digest[:4] == bytes.fromhex("c74f20a3")


def test_signing_the_go_text_gives_the_go_signature() -> None:
    signed = note.note_sign(TEXT, note.signer_parse(PETER_PRIVATE))
    assert signed == TEXT + "\n" + PETER_SIG


def test_opening_checks_known_keys_and_ignores_unknown_ones() -> None:
    peter = note.verifier_parse(PETER_PUBLIC)
    enoch = note.verifier_parse(ENOCH_PUBLIC)
    opened = note.note_open(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter])
    assert opened.text == TEXT and opened.verified_by == ("PeterNeumann",)
    both = note.note_open(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter, enoch])
    assert both.verified_by == ("PeterNeumann", "EnochRoot")
    with pytest.raises(NoteError, match="no signature by the given key"):
        note.note_open(TEXT + "\n" + ENOCH_SIG, [peter])


def test_a_tampered_note_or_signature_fails() -> None:
    peter = note.verifier_parse(PETER_PUBLIC)
    with pytest.raises(NoteError, match="invalid signature"):
        note.note_open(TEXT.replace("answer", "ANSWER") + "\n" + PETER_SIG, [peter])
    with pytest.raises(NoteError, match="invalid signature"):
        note.note_open(TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], [peter])


@pytest.mark.parametrize(
    "message",
    [TEXT, TEXT + "\n", TEXT + "\n" + PETER_SIG[:-1], "\x01" + TEXT + "\n" + PETER_SIG,
     TEXT + "\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
     TEXT + "\n" + PETER_SIG + "Unexpected line.\n", TEXT + "\n" + PETER_SIG * 101],
)  # fmt: skip
def test_malformed_notes_are_refused(message: str) -> None:
    with pytest.raises(NoteError):
        note.note_open(message, [note.verifier_parse(PETER_PUBLIC)])


def test_invalid_bytes_are_refused_not_crashing() -> None:
    with pytest.raises(NoteError):
        note.note_open(b"\xff" + TEXT.encode() + b"\n" + PETER_SIG.encode(), [])


@pytest.mark.parametrize(
    "key",
    [PETER_PUBLIC[:-1], PETER_PUBLIC.replace("c74f20a3", "c74f20a4"), "PeterNeumann+c74f20a3",
     "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
     "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
     "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "", "+++"],
)  # fmt: skip
def test_mangled_verifier_keys_are_refused(key: str) -> None:
    with pytest.raises(NoteError):
        note.verifier_parse(key)


def test_mangled_private_keys_are_refused() -> None:
    for bad in (PETER_PRIVATE[:-2], PETER_PRIVATE.replace("c74f", "c75f"), PETER_PUBLIC,
                PETER_PRIVATE.replace("PRIVATE+KEY+", "")):  # fmt: skip
        with pytest.raises(NoteError):
            note.signer_parse(bad)


def test_a_generated_key_round_trips_and_renames() -> None:
    signer = note.signer_generate("letters.example.org")
    assert note.signer_parse(signer.line()) == signer
    renamed = signer.renamed("letters.example.org/letters/fair-terms")
    signed = note.note_sign("hello\n", renamed)
    verifier = note.verifier_parse(signer.verifier.line()).renamed(renamed.name)
    assert note.note_open(signed, [verifier]).verified_by == (renamed.name,)
    with pytest.raises(NoteError):
        note.note_open(signed, [signer.verifier])


def test_checkpoint_text_and_parsing() -> None:
    root = hashlib.sha256(b"").digest()
    checkpoint = note.Checkpoint(origin="example.com/behind-the-sofa", size=20852163, root=root)
    text = checkpoint.text()
    assert text == f"example.com/behind-the-sofa\n20852163\n{base64.b64encode(root).decode()}\n"
    assert note.checkpoint_parse(text) == checkpoint
    assert note.checkpoint_parse(text + "extension\n") == checkpoint
    for bad in ("a\n1\n", "a\n01\n" + base64.b64encode(root).decode() + "\n",
                "a\n-1\n" + base64.b64encode(root).decode() + "\n", "a\n1\nAAAA\n",
                "a\n1\n" + base64.b64encode(root).decode(), "\n1\nAAAA\n"):  # fmt: skip
        with pytest.raises(NoteError):
            note.checkpoint_parse(bad)
