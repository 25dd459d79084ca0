"""RFC 6962 / RFC 9162 hashing and proofs, and C2SP tlog-tiles paths and bundles, against
published vectors: the leaves, node and root hashes and the proofs of the Certificate
Transparency test suite (transparency-dev/merkle), the tile paths of the Go checksum
database (golang.org/x/mod/sumdb/tlog) and the examples of the C2SP spec."""

import hashlib

import pytest

from trustlog import merkle
from trustlog.merkle import ProofError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
LEAF_HASHES = [h(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
)]  # fmt: skip
ROOTS = [h(x) for x in (  # by tree size, from 0
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # fmt: skip
# (leaf index from 0, tree size, proof)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def tiles_of(leaves: list[bytes]) -> dict[merkle.TileKey, bytearray]:
    tiles: dict[merkle.TileKey, bytearray] = {}
    merkle.tiles_append(tiles, 0, (merkle.leaf_hash(x) for x in leaves))
    return tiles


def test_leaf_hashes_match_the_rfc_6962_vectors() -> None:
    assert [merkle.leaf_hash(x) for x in LEAVES] == LEAF_HASHES


def test_node_hash_prefixes_0x01() -> None:
    assert merkle.node_hash(LEAF_HASHES[0], LEAF_HASHES[1]) == h(
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
    )


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_tree_size_matches_the_vectors(size: int) -> None:
    assert merkle.merkle_root(LEAF_HASHES[:size]) == ROOTS[size]
    read = merkle.tile_reader(tiles_of(LEAVES[:size]))
    assert merkle.tree_root(read, size) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_and_verify(index: int, size: int, proof: list[str]) -> None:
    read = merkle.tile_reader(tiles_of(LEAVES))
    expected = [h(x) for x in proof]
    assert merkle.inclusion_proof(read, index, size) == expected
    merkle.verify_inclusion(LEAF_HASHES[index], index, size, expected, ROOTS[size])


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_a_corrupted_inclusion_proof_fails(index: int, size: int, proof: list[str]) -> None:
    good = [h(x) for x in proof]
    bad_cases = [
        (LEAF_HASHES[index], index + 1, size, good, ROOTS[size]),
        (LEAF_HASHES[index], index, size * 2, good, ROOTS[size]),
        (hashlib.sha256(b"wrong").digest(), index, size, good, ROOTS[size]),
        (LEAF_HASHES[index], index, size, good, ROOTS[0]),
        (LEAF_HASHES[index], index, size, [*good, ROOTS[size]], ROOTS[size]),
        (LEAF_HASHES[index], index, size, good[:-1], ROOTS[size]),
        (LEAF_HASHES[index], index, size, [bytes([good[0][0] ^ 8]) + good[0][1:], *good[1:]],
         ROOTS[size]),
        (LEAF_HASHES[index], index, size, [b"", *good], ROOTS[size]),
    ]  # fmt: skip
    for leaf, i, n, p, root in bad_cases:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(leaf, i, n, p, root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_and_verify(old: int, new: int, proof: list[str]) -> None:
    read = merkle.tile_reader(tiles_of(LEAVES))
    expected = [h(x) for x in proof]
    assert merkle.consistency_proof(read, old, new) == expected
    merkle.verify_consistency(old, new, ROOTS[old], ROOTS[new], expected)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_a_corrupted_consistency_proof_fails(old: int, new: int, proof: list[str]) -> None:
    good = [h(x) for x in proof]
    bad_cases = [
        (old + 1, new, ROOTS[old], ROOTS[new], good),
        (old, new * 2, ROOTS[old], ROOTS[new], good),
        (old, new, ROOTS[new], ROOTS[old], good),
        (old, new, ROOTS[old], ROOTS[new], []),
        (old, new, ROOTS[old], ROOTS[new], good[:-1]),
        (old, new, ROOTS[old], ROOTS[new], [*good, ROOTS[old]]),
        (old, new, ROOTS[old], ROOTS[new], [good[0], *good]),
        (old, new, ROOTS[old], ROOTS[new], [bytes([good[1][0] ^ 16]) + good[1][1:], good[0],
                                             *good[2:]]),
    ]  # fmt: skip
    for o, n, r1, r2, p in bad_cases:
        with pytest.raises(ProofError):
            merkle.verify_consistency(o, n, r1, r2, p)


def test_consistency_edge_cases() -> None:
    merkle.verify_consistency(0, 5, ROOTS[0], ROOTS[5], [])
    merkle.verify_consistency(3, 3, ROOTS[3], ROOTS[3], [])
    with pytest.raises(ProofError):  # one size, two roots
        merkle.verify_consistency(3, 3, ROOTS[3], ROOTS[4], [])
    with pytest.raises(ProofError):  # back in time
        merkle.verify_consistency(4, 3, ROOTS[4], ROOTS[3], [])


def test_proofs_from_tiles_verify_across_tile_boundaries() -> None:
    leaves = [f"entry {i}".encode() for i in range(70_000)]
    tiles = tiles_of(leaves)
    read = merkle.tile_reader(tiles)
    hashes = [merkle.leaf_hash(x) for x in leaves]
    for size in (1, 255, 256, 257, 65_535, 65_536, 65_537, 70_000):
        root = merkle.tree_root(read, size)
        assert root == merkle.merkle_root(hashes[:size])
        for index in {0, size // 2, size - 1}:
            proof = merkle.inclusion_proof(read, index, size)
            merkle.verify_inclusion(hashes[index], index, size, proof, root)
        for old in {1, size // 3, size - 1}:
            if 0 < old < size:
                proof = merkle.consistency_proof(read, old, size)
                merkle.verify_consistency(old, size, merkle.tree_root(read, old), root, proof)


def test_tiles_have_the_shape_the_spec_gives_for_70000_entries() -> None:
    # C2SP tlog-tiles: 273 full level 0 tiles, one of width 112, one full level 1 tile,
    # one of width 17, and one level 2 tile of width 1.
    shape = merkle.tiles_for_size(70_000)
    level0 = [w for level, _, w in shape if level == 0]
    assert level0.count(256) == 273 and level0[-1] == 112 and len(level0) == 274
    assert [w for level, _, w in shape if level == 1] == [256, 17]
    assert [w for level, _, w in shape if level == 2] == [1]
    # A tree of 256: one full level 0 tile and a level 1 tile of width 1.
    assert merkle.tiles_for_size(256) == [(0, 0, 256), (1, 0, 1)]
    tiles = tiles_of([f"entry {i}".encode() for i in range(70_000)])
    assert len(tiles[(1, 1)]) == 17 * 32 and len(tiles[(2, 0)]) == 32


def test_a_level_1_hash_is_the_root_of_a_full_level_0_tile() -> None:
    leaves = [f"entry {i}".encode() for i in range(300)]
    tiles = tiles_of(leaves)
    assert bytes(tiles[(1, 0)]) == merkle.merkle_root([merkle.leaf_hash(x) for x in leaves[:256]])


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (1, "001"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067"),
     (123456078, "x123/x456/078"), (3057500, "x003/x057/500")],
)  # fmt: skip
def test_tile_index_encoding(index: int, path: str) -> None:
    assert merkle.encode_index(index) == path
    assert merkle.parse_index(path) == merkle.TilePath(index=index, width=None)


def test_tile_paths_in_the_c2sp_form() -> None:
    # The Go checksum database writes tile/8/0/x001/x234/067.p/8 (with its height 8 first);
    # C2SP tlog-tiles drops the height: tile/0/x001/x234/067.p/8.
    assert merkle.tile_path(0, 1234067, 8) == "tile/0/x001/x234/067.p/8"
    assert merkle.tile_path(1, 1234067) == "tile/1/x001/x234/067"
    assert merkle.tile_path("entries", 5, 17) == "tile/entries/005.p/17"
    assert merkle.parse_index("x001/x234/067.p/8") == merkle.TilePath(index=1234067, width=8)
    assert merkle.parse_index("001.p/255") == merkle.TilePath(index=1, width=255)


@pytest.mark.parametrize(
    "path",
    ["123/456/078", "-1", "1", "01", "0001", "x000/001", "001.p/0", "001.p/256", "001.p/08",
     "001.p/", "001/", "x001", "x1/001", "001.p/8/", "abc", "", "001.P/8"],
)  # fmt: skip
def test_non_canonical_tile_indexes_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        merkle.parse_index(path)


def test_entry_bundles_are_big_endian_uint16_length_prefixed() -> None:
    entries = [b"", b"a", b"x" * 300]
    data = merkle.bundle_encode(entries)
    assert data[:2] == b"\x00\x00"
    assert data[2:5] == b"\x00\x01a"
    assert data[5:7] == b"\x01\x2c"
    assert merkle.bundle_decode(data) == entries
    with pytest.raises(ProofError):
        merkle.bundle_decode(data[:-1])
    with pytest.raises(ProofError):
        merkle.bundle_decode(b"\x00")
    with pytest.raises(ValueError):
        merkle.bundle_encode([b"x" * 65536])
