"""C2SP signed notes with Ed25519, and tlog-checkpoint bodies.

Keys are written as the Go checksum database writes them: a verifier key
`<name>+<key id hex>+<base64(0x01 || public key)>` and a private key
`PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`. The key id is the first four
bytes of SHA-256(name || "\\n" || 0x01 || public key).

Only the standard library and `cryptography`: the auditor's command imports this too.
"""

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = b"\x01"
PRIVATE_PREFIX = "PRIVATE+KEY+"
SIGNATURE_DASH = "\u2014 "
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 20


class NoteError(ValueError):
    """A key, note or checkpoint that is malformed or does not verify."""


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public_key).digest()[:4]


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError("not base64") from None


@dataclass(frozen=True)
class Verifier:
    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def line(self) -> str:
        encoded = base64.b64encode(ALG_ED25519 + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def renamed(self, name: str) -> "Verifier":
        """The same Ed25519 key under another name (the site's key for a letter's origin)."""
        if not _valid_name(name):
            raise NoteError(f"{name!r} cannot name a key")
        return Verifier(name=name, public_key=self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes

    @property
    def public_key(self) -> bytes:
        private = Ed25519PrivateKey.from_private_bytes(self.seed)
        return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def verifier(self) -> Verifier:
        return Verifier(name=self.name, public_key=self.public_key)

    def line(self) -> str:
        encoded = base64.b64encode(ALG_ED25519 + self.seed).decode()
        return f"{PRIVATE_PREFIX}{self.name}+{self.verifier.key_id.hex()}+{encoded}"

    def renamed(self, name: str) -> "Signer":
        if not _valid_name(name):
            raise NoteError(f"{name!r} cannot name a key")
        return Signer(name=name, seed=self.seed)

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def signer_generate(name: str) -> Signer:
    if not _valid_name(name):
        raise NoteError(f"{name!r} cannot name a key: no spaces and no '+'")
    return Signer(name=name, seed=secrets.token_bytes(32))


def _split_key(text: str) -> tuple[str, bytes, bytes]:
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a key is written name+keyid+base64")
    name, hash_hex, encoded = parts
    if not _valid_name(name) or not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise NoteError("a key is written name+keyid+base64, the key id as 8 hex digits")
    key = _b64decode(encoded)
    if len(key) != 33 or key[:1] != ALG_ED25519:
        raise NoteError("only Ed25519 keys (type 0x01, 32 bytes) are supported")
    return name, bytes.fromhex(hash_hex), key[1:]


def verifier_parse(text: str) -> Verifier:
    name, hash_bytes, public_key = _split_key(text)
    verifier = Verifier(name=name, public_key=public_key)
    if verifier.key_id != hash_bytes:
        raise NoteError("the key id does not match the key")
    return verifier


def signer_parse(text: str) -> Signer:
    text = text.strip()
    if not text.startswith(PRIVATE_PREFIX):
        raise NoteError(f"a private key starts with {PRIVATE_PREFIX}")
    name, hash_bytes, seed = _split_key(text[len(PRIVATE_PREFIX) :])
    signer = Signer(name=name, seed=seed)
    if signer.verifier.key_id != hash_bytes:
        raise NoteError("the key id does not match the key")
    return signer


def note_sign(text: str, signer: Signer) -> str:
    """The signed note: the text, a blank line, one signature line."""
    if not text.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note's text ends with a newline and has no control characters")
    signature = signer.verifier.key_id + signer.sign(text.encode())
    return f"{text}\n{SIGNATURE_DASH}{signer.name} {base64.b64encode(signature).decode()}\n"


@dataclass(frozen=True)
class OpenedNote:
    text: str
    verified_by: tuple[str, ...]


def note_open(message: bytes | str, verifiers: list[Verifier]) -> OpenedNote:
    """Check a signed note; raise NoteError unless a known key signed it and every
    signature by a known key verifies. Signatures by other keys are ignored."""
    raw = message.encode() if isinstance(message, str) else message
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError("the note is too long")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("the note is not UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in decoded) or not decoded.endswith("\n"):
        raise NoteError("malformed note")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, signature_block = decoded[: split + 1], decoded[split + 2 :]
    lines = signature_block[:-1].split("\n") if signature_block else []
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError("malformed note: no signature lines, or too many")
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[str] = []
    for line in lines:
        if not line.startswith(SIGNATURE_DASH):
            raise NoteError("malformed note: a signature line starts with an em dash")
        name, _, encoded = line[len(SIGNATURE_DASH) :].partition(" ")
        if not _valid_name(name) or not encoded or " " in encoded:
            raise NoteError("malformed note: a signature line is '— name signature'")
        signature = _b64decode(encoded)
        if len(signature) < 5:
            raise NoteError("malformed note: a signature is too short")
        verifier = known.get((name, signature[:4]))
        if verifier is None:
            continue
        if not verifier.verify(text.encode(), signature[4:]):
            raise NoteError(f"invalid signature for key {name}+{signature[:4].hex()}")
        verified.append(name)
    if not verified:
        raise NoteError("the note has no signature by the given key")
    return OpenedNote(text=text, verified_by=tuple(verified))


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def checkpoint_parse(text: str) -> Checkpoint:
    """A tlog-checkpoint body: origin, tree size, root hash, then extension lines."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise NoteError("a checkpoint is at least three non-empty lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size_text):
        raise NoteError("a checkpoint's tree size is a decimal number")
    root = _b64decode(root_text)
    if len(root) != 32:
        raise NoteError("a checkpoint's root hash is 32 bytes")
    return Checkpoint(origin=origin, size=int(size_text), root=root)
