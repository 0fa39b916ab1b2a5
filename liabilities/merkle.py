"""The Merkle sum tree of a liabilities snapshot: pure hashing, no Django (bin/earn_verify.py restates it).

A leaf commits to one customer's total in one asset, in the asset's smallest unit (an exact integer):

    leaf hash = SHA-256("earn-liability-leaf/1|" salt_hex "|" leaf_id "|" asset "|" units)     (UTF-8 text)

and a node to its two children, sums as 32-byte big-endian unsigned integers:

    node hash = SHA-256(b"earn-liability-node/1" ‖ left.hash ‖ left.sum ‖ right.hash ‖ right.sum)
    node sum  = left.sum + right.sum

Leaves are ordered by their hash (a pseudo-random permutation: a position says nothing about a customer
or a balance). A level with an odd number of nodes moves its last node up unchanged: no duplicated
node, so no sum counted twice. A proof lists, from the leaf up, the sibling met at each level that has
one (`side` "L": the sibling is on the left).

Trees are built in blocks of 2**BLOCK_LEVELS leaves: the levels inside a block depend only on that
block (pairs never cross an aligned power-of-two boundary), so a snapshot stores its leaves and the
nodes from the block roots up, and a proof recomputes the bottom of the path from its leaf's block.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

LEAF_PREFIX = "earn-liability-leaf/1"
NODE_PREFIX = b"earn-liability-node/1"
SUM_BYTES = 32
BLOCK_LEVELS = 8
BLOCK = 1 << BLOCK_LEVELS

Node = tuple[bytes, int]  # (hash, sum)


def customer_salt(key: bytes, day: str, user_id: int) -> bytes:
    """One salt per customer and snapshot date, keyed by a server secret: HMAC-SHA256(key, "date|user")."""
    return hmac.new(key, f"{day}|{user_id}".encode(), hashlib.sha256).digest()


def leaf_id(user_id: int) -> str:
    return f"customer-{user_id}"


def leaf_hash(salt: bytes, leaf: str, asset: str, units: int) -> bytes:
    if units < 0:
        raise ValueError("a liability is never negative")
    return hashlib.sha256(f"{LEAF_PREFIX}|{salt.hex()}|{leaf}|{asset}|{units}".encode()).digest()


def node(left: Node, right: Node) -> Node:
    total = left[1] + right[1]
    digest = hashlib.sha256(NODE_PREFIX + left[0] + left[1].to_bytes(SUM_BYTES, "big")
                            + right[0] + right[1].to_bytes(SUM_BYTES, "big")).digest()
    return digest, total


def next_level(level: Sequence[Node]) -> list[Node]:
    up = [node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        up.append(level[-1])
    return up


def levels(leaves: Sequence[Node], *, stop: int = 1) -> list[list[Node]]:
    """Every level from the leaves (level 0) until one of at most `stop` nodes (the root when stop=1)."""
    if not leaves:
        raise ValueError("a tree has at least one leaf")
    out = [list(leaves)]
    while len(out[-1]) > stop:
        out.append(next_level(out[-1]))
    return out


def root(leaves: Sequence[Node]) -> Node:
    return levels(leaves)[-1][0]


def block_root(block: Sequence[Node]) -> Node:
    """The root of one block of at most BLOCK leaves (its levels 0 … BLOCK_LEVELS)."""
    return root(block)


def blocks(leaves: Iterable[Node]) -> Iterator[list[Node]]:
    """Leaves in consecutive blocks of BLOCK (the last one may be shorter): streamed, constant memory."""
    block: list[Node] = []
    for leaf in leaves:
        block.append(leaf)
        if len(block) == BLOCK:
            yield block
            block = []
    if block:
        yield block


def path(level_list: Sequence[Sequence[Node]], index: int) -> list[dict[str, str]]:
    """Siblings from `index` at level_list[0] up to the top of `level_list` (side, hex hash, decimal sum)."""
    steps = []
    for level in level_list[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            digest, total = level[sibling]
            steps.append({"side": "L" if sibling < index else "R", "hash": digest.hex(), "sum": str(total)})
        index //= 2
    return steps


@dataclass(frozen=True)
class Climb:
    hash: bytes
    sum: int


def climb(start: Node, steps: Iterable[dict[str, str]]) -> Climb:
    """Apply a path to a node: what the verifier does."""
    current = start
    for step in steps:
        sibling = (bytes.fromhex(step["hash"]), int(step["sum"]))
        current = node(sibling, current) if step["side"] == "L" else node(current, sibling)
    return Climb(*current)
