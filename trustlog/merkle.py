"""RFC 6962 / RFC 9162 Merkle trees, stored and served as C2SP tlog-tiles.

Pure functions, no Django: the site, the auditor's command (`verify_log`) and the
benchmark all build and check trees with this one module.

A tile at level L holds up to 256 consecutive hashes of the level L*8 of the tree: at
level 0 the leaf hashes, above that the hash of each *full* tile of the level below. Any
tree hash a proof needs is computed from at most 128 hashes of one tile.
"""

import hashlib
import re
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass

HASH_SIZE = 32
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # hashes in a full tile
FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE
MAX_LEVEL = 63
# Entry bundles prefix each entry with a big-endian uint16 length.
MAX_ENTRY_BYTES = 0xFFFF
EMPTY_ROOT = hashlib.sha256(b"").digest()

TileKey = tuple[int, int]  # (level, index)
# Reads `count` consecutive hashes of tile level `level`, from position `start` there.
HashReader = Callable[[int, int, int], list[bytes]]


class ProofError(ValueError):
    """A proof, tile or tree that does not verify."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(hashes: list[bytes]) -> bytes:
    """The Merkle Tree Hash over these subtree hashes taken as leaves (RFC 6962 2.1):
    pairing left to right and carrying an odd last one up builds the same tree as
    splitting at the largest power of two."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


# --- Tiles ----------------------------------------------------------------------------


def tiles_append(
    tiles: MutableMapping[TileKey, bytearray], size: int, leaf_hashes: Iterable[bytes]
) -> int:
    """Append leaf hashes to a tree of `size` leaves stored as tiles; returns the new size.

    `tiles` must hold the tree's right-edge tiles (`edge_tiles(size)`) that exist; every
    tile this changes or creates is left in it.
    """
    for node in leaf_hashes:
        level, position = 0, size
        while True:
            tile = tiles.setdefault((level, position // TILE_WIDTH), bytearray())
            if len(tile) != (position % TILE_WIDTH) * HASH_SIZE:
                raise ProofError(f"tile {level}/{position // TILE_WIDTH} is not the tree's edge")
            tile += node
            if len(tile) < FULL_TILE_BYTES:
                break
            node = merkle_root(
                [bytes(tile[i : i + HASH_SIZE]) for i in range(0, FULL_TILE_BYTES, HASH_SIZE)]
            )
            level, position = level + 1, position // TILE_WIDTH
        size += 1
    return size


def edge_tiles(size: int) -> list[TileKey]:
    """The tiles a tree of `size` leaves grows into: the partial one of each level."""
    keys = []
    level, span = 0, 1
    while span <= max(size, 1):
        keys.append((level, size // (span * TILE_WIDTH)))
        level, span = level + 1, span * TILE_WIDTH
    return keys


def tile_width(size: int, level: int, index: int) -> int:
    """How many hashes tile `level`/`index` holds in a tree of `size` leaves (0 to 256)."""
    available = size // (TILE_WIDTH**level)
    return max(0, min(TILE_WIDTH, available - index * TILE_WIDTH))


def tiles_for_size(size: int) -> list[tuple[int, int, int]]:
    """Every tile (level, index, width) a tree of `size` leaves is published as."""
    out = []
    level = 0
    while size // (TILE_WIDTH**level) > 0:
        count = size // (TILE_WIDTH**level)
        for index in range(-(-count // TILE_WIDTH)):
            out.append((level, index, tile_width(size, level, index)))
        level += 1
    return out


def tile_reader(tiles: MutableMapping[TileKey, bytearray] | dict[TileKey, bytes]) -> HashReader:
    def read(level: int, start: int, count: int) -> list[bytes]:
        tile = tiles.get((level, start // TILE_WIDTH), b"")
        offset = (start % TILE_WIDTH) * HASH_SIZE
        if offset + count * HASH_SIZE > len(tile):
            raise ProofError(f"tile {level}/{start // TILE_WIDTH} is too short")
        return [
            bytes(tile[offset + i * HASH_SIZE : offset + (i + 1) * HASH_SIZE]) for i in range(count)
        ]

    return read


def subtree_hash(read: HashReader, start: int, length: int) -> bytes:
    """The hash of the perfect subtree of `length` (a power of two) leaves at `start`."""
    height = length.bit_length() - 1
    level, rest = divmod(height, TILE_HEIGHT)
    span = TILE_WIDTH**level
    if start % length:
        raise ProofError("a subtree must be aligned on its size")
    return merkle_root(read(level, start // span, 1 << rest))


def range_hash(read: HashReader, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range an RFC 6962 proof asks for: `start` a multiple of
    the smallest power of two not below end - start."""
    parts = []
    while start < end:
        length = 1 << ((end - start).bit_length() - 1)
        parts.append(subtree_hash(read, start, length))
        start += length
    if not parts:
        return EMPTY_ROOT
    root = parts[-1]
    for part in reversed(parts[:-1]):
        root = node_hash(part, root)
    return root


def tree_root(read: HashReader, size: int) -> bytes:
    return range_hash(read, 0, size)


# --- Proofs (RFC 6962 2.1.1-2.1.2, verification as RFC 9162 2.1.3.2 and 2.1.4.2) ----


def inclusion_proof(read: HashReader, index: int, size: int) -> list[bytes]:
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index - start < k:
            proof.append(range_hash(read, start + k, end))
            end = start + k
        else:
            proof.append(range_hash(read, start, start + k))
            start += k
    return list(reversed(proof))


def consistency_proof(read: HashReader, old_size: int, new_size: int) -> list[bytes]:
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    m, start, end, complete = old_size, 0, new_size, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                proof.append(range_hash(read, start, end))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            proof.append(range_hash(read, start + k, end))
            end = start + k
        else:
            proof.append(range_hash(read, start, start + k))
            start, m, complete = start + k, m - k, False
    return list(reversed(proof))


def _check_hashes(*hashes: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError("a hash is not 32 bytes")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """Raise ProofError unless `proof` shows the leaf hash at `index` in the tree `root`."""
    _check_hashes(leaf, root, *proof)
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise ProofError("the inclusion proof does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    """Raise ProofError unless `proof` shows tree `new_root` extends tree `old_root`."""
    _check_hashes(old_root, new_root, *proof)
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of {new_size} cannot extend one of {old_size}")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("two different roots for one tree size")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofError("the consistency proof does not lead to both roots")


# --- Paths and bundles (C2SP tlog-tiles) ----------------------------------------------

_INDEX = re.compile(r"^((?:x\d{3}/)*)(\d{3})(?:\.p/([1-9]\d{0,2}))?$")


@dataclass(frozen=True)
class TilePath:
    index: int
    width: int | None  # None: a full tile


def encode_index(index: int) -> str:
    """1234067 -> 'x001/x234/067': three digits a path element, all but the last with 'x'."""
    if index < 0:
        raise ValueError("a tile index is never negative")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int | str, index: int, width: int = TILE_WIDTH) -> str:
    """`tile/<L>/<N>[.p/<W>]`; level "entries" for an entry bundle."""
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(index)}{suffix}"


def parse_index(text: str) -> TilePath:
    """The `<N>[.p/<W>]` part of a tile path, in its one canonical spelling only."""
    match = _INDEX.match(text)
    if not match:
        raise ValueError("not a tile index")
    groups = [g[1:] for g in match.group(1).split("/") if g] + [match.group(2)]
    if len(groups) > 1 and groups[0] == "000":
        raise ValueError("a tile index has no leading zero groups")
    width = int(match.group(3)) if match.group(3) else None
    if width is not None and width >= TILE_WIDTH:
        raise ValueError("a partial tile is 1 to 255 wide")
    return TilePath(index=int("".join(groups)), width=width)


def bundle_encode(entries: Iterable[bytes]) -> bytes:
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise ValueError("an entry is longer than 65535 bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def bundle_decode(data: bytes) -> list[bytes]:
    entries, position = [], 0
    while position < len(data):
        if position + 2 > len(data):
            raise ProofError("an entry bundle ends inside a length prefix")
        length = int.from_bytes(data[position : position + 2], "big")
        position += 2
        if position + length > len(data):
            raise ProofError("an entry bundle ends inside an entry")
        entries.append(data[position : position + length])
        position += length
    return entries
