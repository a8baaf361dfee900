"""Prefix trie of the semantic IDs of real items, in the flat layout the service uses (CSR arrays).

Node 0 is the root; a node at depth l has one child per distinct code at level l among the items
below it; a node at depth L is a leaf and names exactly one item.
"""
from __future__ import annotations

import numpy as np
import torch


class Trie:
    def __init__(self, codes: np.ndarray, codebook_sizes: list[int]):
        self.n_items, self.levels = codes.shape
        self.codebook_sizes = list(codebook_sizes)
        self.width = max(codebook_sizes)
        edges: dict[tuple[int, int], int] = {}
        path = np.zeros((self.n_items, self.levels + 1), dtype=np.int64)  # node at each depth, leaf last
        n_nodes = 1
        for item, row in enumerate(codes.tolist()):
            node = 0
            for level, code in enumerate(row):
                key = (node, code)
                if key not in edges:
                    edges[key] = n_nodes
                    n_nodes += 1
                node = edges[key]
                path[item, level + 1] = node
        self.n_nodes = n_nodes
        self.path = path
        self.leaf_item = np.full(n_nodes, -1, dtype=np.int64)
        self.leaf_item[path[:, -1]] = np.arange(self.n_items)
        if (np.bincount(path[:, -1], minlength=n_nodes) > 1).any():
            raise ValueError("two items share a semantic ID; the last level must make IDs unique")
        # dense child table: child_table[node, code] = child node or -1 (used by the torch decoders)
        self.child_table = np.full((n_nodes, self.width), -1, dtype=np.int64)
        for (node, code), child in edges.items():
            self.child_table[node, code] = child
        self.leaves_below = np.zeros(n_nodes, dtype=np.int64)
        np.add.at(self.leaves_below, path.reshape(-1), 1)

    def csr(self) -> dict[str, list[int]]:
        """first_child/child_count per node, child_code/child_node per edge, in code order."""
        first, count, child_code, child_node = [], [], [], []
        for node in range(self.n_nodes):
            codes = np.flatnonzero(self.child_table[node] >= 0)
            first.append(len(child_code))
            count.append(len(codes))
            child_code.extend(codes.tolist())
            child_node.extend(self.child_table[node, codes].tolist())
        return {"first_child": first, "child_count": count, "child_code": child_code, "child_node": child_node}

    def tensors(self, device=None) -> "TrieTensors":
        return TrieTensors(torch.from_numpy(self.child_table).to(device), torch.from_numpy(self.path).to(device),
                           torch.from_numpy(self.leaf_item).to(device), torch.from_numpy(self.leaves_below).to(device))


class TrieTensors:
    """The trie as torch tensors, for masked log-softmax in training and batched decoding."""

    def __init__(self, child_table, path, leaf_item, leaves_below):
        self.child_table, self.path, self.leaf_item, self.leaves_below = child_table, path, leaf_item, leaves_below

    def valid_children(self, nodes: torch.Tensor) -> torch.Tensor:
        """Bool mask of the codes that lead to a real item, shape nodes.shape + [width]."""
        return self.child_table[nodes] >= 0

    def item_masks(self, items: torch.Tensor) -> torch.Tensor:
        """For target items [...], the valid-children mask at every level along their path: [..., L, width]."""
        return self.valid_children(self.path[items][..., :-1])

    def alive_counts(self, excluded: list[list[int]]) -> torch.Tensor:
        """Per request, the number of non-excluded leaves below every node: [B, n_nodes]."""
        alive = self.leaves_below.repeat(len(excluded), 1)
        for row, items in enumerate(excluded):
            if items:
                nodes = self.path[torch.tensor(sorted(set(items)), device=alive.device)].reshape(-1)
                alive[row].scatter_add_(0, nodes, torch.full_like(nodes, -1))
        return alive


def masked_log_softmax(logits: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """log P_F over the valid children only; invalid entries are -inf."""
    return torch.log_softmax(logits.masked_fill(~valid, float("-inf")), dim=-1)
