"""The Merkle sum tree, by hand: a worked example with a known root, every leaf's path, blocks = whole tree."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
from pathlib import Path

import pytest

from liabilities import merkle
from liabilities.services import hmac_pads

VERIFY = Path(__file__).resolve().parents[2] / "bin" / "earn_verify.py"


def _verifier():
    spec = importlib.util.spec_from_file_location("earn_verify", VERIFY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _leaves(n: int) -> list[merkle.Node]:
    return [(merkle.leaf_hash(bytes([i]) * 32, merkle.leaf_id(i), "USDT", 100 * i + 1), 100 * i + 1)
            for i in range(n)]


def test_worked_example_three_leaves():
    """Three leaves: (a, b) pair up, c moves up unchanged, root = node(node(a, b), c); sums are exact."""
    salt = bytes(range(32))
    leaf = hashlib.sha256(f"earn-liability-leaf/1|{salt.hex()}|customer-7|USDT|150000000000".encode()).digest()
    assert merkle.leaf_hash(salt, "customer-7", "USDT", 150_000_000_000) == leaf
    a, b, c = (leaf, 150_000_000_000), (b"\x11" * 32, 5), (b"\x22" * 32, 0)
    ab = hashlib.sha256(b"earn-liability-node/1" + a[0] + a[1].to_bytes(32, "big") + b[0]
                        + b[1].to_bytes(32, "big")).digest()
    top = hashlib.sha256(b"earn-liability-node/1" + ab + (150_000_000_005).to_bytes(32, "big") + c[0]
                         + (0).to_bytes(32, "big")).digest()
    assert merkle.root([a, b, c]) == (top, 150_000_000_005)
    assert top.hex() == "0d7b7a88be8289fa23a6add5fce7b5f9b0c4cfddb9b81d78939325723923ad97"
    assert merkle.path(merkle.levels([a, b, c]), 2) == [{"side": "L", "hash": ab.hex(), "sum": "150000000005"}]
    assert merkle.path(merkle.levels([a, b, c]), 0) == [
        {"side": "R", "hash": b[0].hex(), "sum": "5"}, {"side": "R", "hash": c[0].hex(), "sum": "0"}]


def test_known_root_of_a_fixed_tree():
    """A regression anchor: the root of five fixed leaves never changes (the verifier and published roots
    depend on the exact byte layout)."""
    digest, total = merkle.root(_leaves(5))
    assert total == 1 + 101 + 201 + 301 + 401
    assert digest.hex() == KNOWN_ROOT


KNOWN_ROOT = "ab80be8043e81b7f63eb745224031f4dd247495e6752dc571098d3b6f8b31cc0"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17])
def test_every_leaf_climbs_to_the_root(n):
    leaves = _leaves(n)
    levels = merkle.levels(leaves)
    top = levels[-1][0]
    verifier = _verifier()
    for i, leaf in enumerate(leaves):
        climbed = merkle.climb(leaf, merkle.path(levels, i))
        assert (climbed.hash, climbed.sum) == top
        current = leaf  # the stand-alone verifier's node function agrees
        for step in merkle.path(levels, i):
            sibling = (bytes.fromhex(step["hash"]), int(step["sum"]))
            current = verifier.liability_node(sibling, current) if step["side"] == "L" else \
                verifier.liability_node(current, sibling)
        assert current == top


@pytest.mark.parametrize("n", [1, 4, 5, 9, 13])
def test_blocks_then_roots_is_the_same_tree(monkeypatch, n):
    """Hashing block by block and then the block roots gives the root of the whole tree (pairs never cross
    an aligned block), whatever the block size and the remainder."""
    monkeypatch.setattr(merkle, "BLOCK", 4)
    leaves = _leaves(n)
    block_roots = [merkle.block_root(block) for block in merkle.blocks(iter(leaves))]
    assert merkle.root(block_roots) == merkle.root(leaves)


def test_a_negative_leaf_is_refused():
    with pytest.raises(ValueError):
        merkle.leaf_hash(b"\0" * 32, "customer-1", "USDT", -1)


def test_sql_hmac_pads_make_hmac():
    """The build computes HMAC-SHA256 in SQL from the key's pads: the same as hmac, for short and long keys."""
    for key in (b"k", b"x" * 64, b"y" * 100):
        ipad, opad = hmac_pads(key)
        inner = hashlib.sha256(ipad + b"2026-03-02|42").digest()
        assert hashlib.sha256(opad + inner).digest() == hmac.new(key, b"2026-03-02|42", hashlib.sha256).digest()
        assert merkle.customer_salt(key, "2026-03-02", 42) == hmac.new(key, b"2026-03-02|42", hashlib.sha256).digest()
