"""The auditor's side: download a letter's log from any Undersigned site and check it.

Standard library only (urllib), plus this app's merkle and note modules, so anyone can
run it against any site. `verify_log` (the management command) and the benchmark call
`log_verify` with a fetch function.
"""

import base64
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from . import merkle
from .note import Checkpoint, NoteError, Verifier, checkpoint_parse, note_open, verifier_parse

Fetch = Callable[[str], bytes]
FETCH_WORKERS = 8
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class VerifyError(Exception):
    """The log does not check out, or could not be read; the message says which."""


@dataclass(frozen=True)
class LogAddress:
    prefix: str  # https://host/letters/slug/log
    origin: str  # host/letters/slug
    site: str  # https://host


def log_address(url: str) -> LogAddress:
    """The log of the letter at `url` (its page, or its /log/ prefix)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise VerifyError(f"{url!r} is not an http(s) address of a letter")
    path = parts.path.rstrip("/")
    if path.endswith("/log"):
        path = path[: -len("/log")]
    segments = path.split("/")
    if len(segments) != 3 or segments[1] != "letters" or not segments[2]:
        raise VerifyError(f"{url!r} is not a letter's address (…/letters/<slug>/)")
    site = f"{parts.scheme}://{parts.netloc}"
    return LogAddress(prefix=f"{site}{path}/log", origin=f"{parts.netloc}{path}", site=site)


def http_fetcher(base: str, *, timeout: float = 30) -> Fetch:
    """GET `base/<path>` with urllib; any failure is a VerifyError naming the address."""

    def fetch(path: str) -> bytes:
        url = f"{base}/{path}"
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url, headers={"User-Agent": "undersigned-verify-log/1", "Accept-Encoding": "identity"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                body = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            detail = error.read(500).decode("utf-8", "replace").strip()
            raise VerifyError(f"{url}: HTTP {error.code} {detail}".rstrip()) from None
        except (urllib.error.URLError, OSError) as error:
            raise VerifyError(f"{url}: {error}") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise VerifyError(f"{url}: the answer is too large")
        return body

    return fetch


@dataclass(frozen=True)
class SavedState:
    origin: str
    size: int
    root: bytes
    key: str

    def dump(self) -> str:
        return json.dumps(
            {
                "origin": self.origin,
                "size": self.size,
                "root": base64.b64encode(self.root).decode(),
                "key": self.key,
            },
            indent=2,
        )


def state_read(path: Path) -> SavedState | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        state = SavedState(
            origin=str(data["origin"]),
            size=int(data["size"]),
            root=base64.b64decode(data["root"], validate=True),
            key=str(data.get("key", "")),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise VerifyError(f"{path}: not a state file this command wrote ({error})") from None
    if state.size < 0 or len(state.root) != merkle.HASH_SIZE:
        raise VerifyError(f"{path}: not a state file this command wrote")
    return state


def state_write(path: Path, state: SavedState) -> None:
    """Write atomically, so an interrupted run never leaves half a state file."""
    directory = path.resolve().parent
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".verify_log-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(state.dump() + "\n")
    Path(temporary).replace(path)


@dataclass(frozen=True)
class ReceiptCheck:
    index: int
    salt: str
    email: str


@dataclass
class Report:
    checkpoint: Checkpoint
    key: str
    adds: int = 0
    removes: int = 0
    previous_size: int | None = None
    tiles_checked: int = 0
    receipt_lines: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.adds - self.removes


def _fetch_all(fetch: Fetch, paths: list[str], workers: int) -> list[bytes]:
    if len(paths) <= 1 or workers <= 1:
        return [fetch(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fetch, paths))


def _entry_fields(index: int, raw: bytes) -> tuple[str, str, str]:
    try:
        entry = json.loads(raw.decode("utf-8"))
        event, signature, commitment = entry["event"], entry["signature"], entry["commitment"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise VerifyError(f"entry {index} is not an entry of this log's format") from None
    if event not in ("add", "remove") or not isinstance(signature, str):
        raise VerifyError(f"entry {index} has no valid event and signature")
    return event, signature, str(commitment)


def _receipt_start(receipt: ReceiptCheck, index: int, raw: bytes, report: Report) -> str:
    event, signature, commitment = _entry_fields(index, raw)
    try:
        salt = bytes.fromhex(receipt.salt)
    except ValueError:
        raise VerifyError("the salt is written in hexadecimal, as the receipt shows it") from None
    expected = base64.b64encode(hashlib.sha256(salt + receipt.email.encode()).digest()).decode()
    if event != "add":
        raise VerifyError(f"entry {index} is a {event}, not the add of your receipt")
    if commitment != expected:
        raise VerifyError(
            f"entry {index} does not commit to this salt and address: it is not your entry"
        )
    report.receipt_lines.append(f"Your entry {index} is in the log (signature {signature}).")
    return signature


def log_verify(
    fetch: Fetch,
    *,
    origin: str,
    verifier: Verifier,
    previous: SavedState | None = None,
    check_tiles: bool = True,
    receipt: ReceiptCheck | None = None,
    workers: int = FETCH_WORKERS,
) -> Report:
    """Check the log behind `fetch`: the checkpoint's signature, every entry against the
    root, each signature added once before it is removed, and consistency with `previous`.
    Raises VerifyError on the first problem."""
    key = verifier if verifier.name == origin else verifier.renamed(origin)
    try:
        opened = note_open(fetch("checkpoint"), [key])
        checkpoint = checkpoint_parse(opened.text)
    except NoteError as error:
        raise VerifyError(f"the checkpoint does not verify: {error}") from None
    if checkpoint.origin != origin:
        raise VerifyError(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    report = Report(checkpoint=checkpoint, key=verifier.line())
    size = checkpoint.size
    if receipt is not None and not 0 <= receipt.index < size:
        raise VerifyError(f"entry {receipt.index} is not in this checkpoint of {size} entries")

    bundles = [(n, w) for level, n, w in merkle.tiles_for_size(size) if level == 0]
    paths = [merkle.tile_path("entries", n, w) for n, w in bundles]
    tiles: dict[merkle.TileKey, bytearray] = {}
    grown = 0
    last_event: dict[str, str] = {}
    mine: str | None = None
    batch = max(workers * 4, 1)
    for start in range(0, len(paths), batch):
        datas = _fetch_all(fetch, paths[start : start + batch], workers)
        for (n, width), data in zip(bundles[start : start + batch], datas, strict=True):
            try:
                entries = merkle.bundle_decode(data)
            except merkle.ProofError as error:
                raise VerifyError(f"entry bundle {n}: {error}") from None
            if len(entries) != width:
                raise VerifyError(f"entry bundle {n} holds {len(entries)} entries, not {width}")
            for offset, raw in enumerate(entries):
                index = n * merkle.TILE_WIDTH + offset
                event, signature, _ = _entry_fields(index, raw)
                before = last_event.get(signature, "remove")
                if before == event == "add":
                    raise VerifyError(
                        f"entry {index} adds signature {signature} again: it was added twice"
                    )
                if before == event:
                    raise VerifyError(
                        f"entry {index} removes signature {signature}, which never counted"
                    )
                last_event[signature] = event
                if event == "add":
                    report.adds += 1
                else:
                    report.removes += 1
                if receipt is not None and index == receipt.index:
                    mine = _receipt_start(receipt, index, raw, report)
                elif mine is not None and signature == mine:
                    done = "added again" if event == "add" else "removed"
                    report.receipt_lines.append(f"Entry {index}: your signature was {done}.")
            grown = merkle.tiles_append(tiles, grown, (merkle.leaf_hash(e) for e in entries))
    read = merkle.tile_reader(tiles)
    if merkle.tree_root(read, size) != checkpoint.root:
        raise VerifyError("the entries do not hash to the checkpoint's root: the log was altered")

    if check_tiles:
        hash_tiles = merkle.tiles_for_size(size)
        served = _fetch_all(fetch, [merkle.tile_path(lv, n, w) for lv, n, w in hash_tiles], workers)
        for (level, n, width), data in zip(hash_tiles, served, strict=True):
            if data != bytes(tiles[(level, n)][: width * merkle.HASH_SIZE]):
                raise VerifyError(
                    f"tile {merkle.tile_path(level, n, width)} does not match the entries"
                )
        report.tiles_checked = len(hash_tiles)

    if previous is not None:
        if previous.origin != origin:
            raise VerifyError(f"the state file is for {previous.origin!r}, not {origin!r}")
        if previous.key and previous.key != report.key:
            raise VerifyError("the state file was checked with another key; the log's key changed")
        if previous.size > size:
            raise VerifyError(
                f"the log shrank: a checkpoint of {previous.size} entries was saved, this one has {size}"
            )
        proof = merkle.consistency_proof(read, previous.size, size)
        try:
            merkle.verify_consistency(previous.size, size, previous.root, checkpoint.root, proof)
        except merkle.ProofError:
            raise VerifyError(
                f"the log is not consistent with the checkpoint of {previous.size} entries saved earlier: entries were changed or removed"
            ) from None
        report.previous_size = previous.size

    if receipt is not None:
        status = last_event.get(mine or "", "")
        report.receipt_lines.append(
            "Your signature counts."
            if status == "add"
            else "Your signature no longer counts: a remove entry was written for it."
        )
    return report


def key_fetch(site: str, fetch: Fetch | None = None) -> Verifier:
    """The verifier key a site serves at /log/key (trust it only as far as you trust the site)."""
    raw = (fetch or http_fetcher(site))("log/key")
    try:
        return verifier_parse(raw.decode("utf-8", "replace").strip())
    except NoteError as error:
        raise VerifyError(f"{site}/log/key is not a verifier key: {error}") from None
