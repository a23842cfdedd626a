"""Deterministic train/dev split of the labelled CMeIE samples.

A seeded shuffle of the sample indices (Python's `random.Random(seed)`, stable across platforms
and versions); the first `dev_size` indices are dev. The same file, size and seed always give the
same split, so every model and report in the project is evaluated on the same held-out texts.
"""
from __future__ import annotations

import random
from typing import Sequence, TypeVar

T = TypeVar("T")


def train_dev_split(samples: Sequence[T], dev_size: int, seed: int) -> tuple[list[T], list[T]]:
    if not 0 < dev_size < len(samples):
        raise ValueError(f"dev_size must be between 1 and {len(samples) - 1}, got {dev_size}")
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    dev_ids = set(order[:dev_size])
    train = [s for i, s in enumerate(samples) if i not in dev_ids]
    dev = [s for i, s in enumerate(samples) if i in dev_ids]
    return train, dev


def load_split(settings) -> tuple[list, list]:
    """The project's split of `data.cmeie_labeled` (settings: etl.config.Settings)."""
    from etl.data.cmeie import read_cmeie

    samples = list(read_cmeie(settings.data.cmeie_labeled))
    return train_dev_split(samples, settings.data.dev_size, settings.data.split_seed)
