"""The normalisation stage of `etl run`: entities -> concepts, after the writes.

Each label is normalised by one normaliser folder (`targets`): Disease entities by the disease
folder (ICD-10 Beijing 6.01, `normalizer.model_dir`), Surgery entities by the surgery folder
(ICD-9-CM-3, `normalizer.surgery.model_dir`); an entity is marked with its own folder's version, so
a new version of one folder re-links only its labels' entities, each with its own `min_score`.

Normalisation belongs to an entity, not to a document: the same `结肠恶性肿瘤` node is named by
many notes, and a new normaliser must not make the nightly run re-extract any document. So the
stage runs once the documents of a run are written, on both engines: it asks the store for the
entities (of the folder's labels) whose `normalized_by` is not the loaded normaliser's version,
normalises their names a page at a time (one model call per page: each distinct name once), and
replaces their NORMALIZED_TO relationships with the concepts scoring at least the folder's `min_score`
(stricter than the model's own threshold, which is CHIP-CDN's best F1: an analyst must be able to
trust a link). It is idempotent and resumable by construction: a
rerun finds nothing left to do; a run stopped half-way leaves the rest unmarked for the next one; a
new normaliser version re-links every entity. Concepts that no entity points to any more (their
entities were pruned) are deleted at the end.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from etl.errors import SinkError

log = logging.getLogger(__name__)


@dataclass
class NormalizeStats:
    entities: int = 0  # entities (re-)normalised by this run
    linked: int = 0  # of them, given at least one concept
    links: int = 0  # NORMALIZED_TO relationships written
    concepts_pruned: int = 0
    seconds: float = 0.0
    by_label: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"entities": self.entities, "linked": self.linked, "links": self.links,
                "concepts_pruned": self.concepts_pruned, "seconds": round(self.seconds, 2), "by_label": self.by_label}


@dataclass(frozen=True)
class Target:
    """One normaliser folder and the entity labels it links."""
    name: str  # its key in the run report's model_versions
    model_dir: Path
    labels: tuple[str, ...]
    min_score: float
    setting: str  # the setting naming the folder (errors, doctor)
    build: str  # the command that builds the folder


def targets(settings) -> list[Target]:
    """The folders `etl run` normalises with (none when normalizer.enabled is false)."""
    n = settings.normalizer
    if not n.enabled:
        return []
    found = [Target("normalizer", n.model_dir, tuple(n.labels), n.min_score, "normalizer.model_dir",
                    "etl train normalizer")]
    if n.surgery.enabled:
        found.append(Target("normalizer_surgery", n.surgery.model_dir, tuple(n.surgery.labels), n.surgery.min_score,
                            "normalizer.surgery.model_dir", "etl train normalizer --surgery"))
    return found


def validate_target(target: Target) -> Path:
    """The target's folder checked as a whole (folder.validate_folder); a problem names the setting."""
    from etl.errors import ConfigError
    from etl.models.folder import validate_folder

    try:
        return validate_folder(target.model_dir, "normalizer")
    except ConfigError as error:
        raise ConfigError(f"{error} [{target.setting}, labels {', '.join(target.labels)}: build it with "
                          f"`{target.build}`, or turn it off]") from None


def concept_rows(names: Sequence[str], matches) -> list[dict]:
    """The sink's link rows: each name with its concepts (system, code or null, name, score)."""
    return [{"name": name, "concepts": [{"system": m.system, "code": m.code or None, "name": m.name,
                                         "score": round(float(m.score), 4)} for m in found]}
            for name, found in zip(names, matches)]


def normalize_entities(sink, normalizer, labels: Sequence[str], page: int, min_score: float = 0.0,
                       progress: Callable[[str], None] = log.info) -> NormalizeStats:
    """Link every entity of `labels` that `normalizer.version` has not linked yet (module docstring)
    to its concepts of score >= `min_score`."""
    return normalize_all(sink, [(normalizer, labels, min_score)], page, progress)


def normalize_all(sink, jobs: Sequence[tuple], page: int, progress: Callable[[str], None] = log.info) -> NormalizeStats:
    """normalize_entities for each (normalizer, labels, min_score) of `jobs`, then one prune."""
    stats, started = NormalizeStats(), time.monotonic()
    for normalizer, labels, min_score in jobs:
        for label in labels:
            _link_label(sink, normalizer, label, page, min_score, stats, progress)
    stats.concepts_pruned = sink.prune_concepts()
    stats.seconds = time.monotonic() - started
    return stats


def _link_label(sink, normalizer, label: str, page: int, min_score: float, stats: NormalizeStats,
                progress: Callable[[str], None]) -> None:
    done: set[str] = set()
    counted = stats.by_label.setdefault(label, {"entities": 0, "linked": 0, "model": normalizer.version,
                                                "min_score": min_score})
    while True:
        names = sink.entities_to_normalize(label, normalizer.version, page)
        if not names:
            break
        again = done.intersection(names)
        if again:  # the store did not keep the mark: stop rather than loop for ever
            raise SinkError(f"normalising {label} entities: {len(again)} entities (e.g. {sorted(again)[0]!r}) "
                            f"came back unmarked after they were linked")
        matches = [[m for m in found if m.score >= min_score] for found in normalizer.normalize(names)]
        rows = concept_rows(names, matches)
        sink.link_concepts(label, rows, normalizer.version)
        done.update(names)
        linked = sum(1 for found in matches if found)
        stats.entities += len(names)
        stats.linked += linked
        stats.links += sum(len(found) for found in matches)
        counted["entities"] += len(names)
        counted["linked"] += linked
        progress(f"normalised {counted['entities']} {label} entities ({counted['linked']} with a concept)")
