"""The surgery normaliser's folder: operation strings (Surgery entities) -> ICD-9-CM-3 standard names.

The same model as the disease folder (model.py), built from `data.surgery_terms` (etl/data/surgery.py):
- names: the file's 1,089 ICD-9-CM-3 standard names with their codes; labels.json system ICD-9-CM-3;
- the tower: the disease normaliser's (`normalizer.surgery.base_dir`), fine-tuned for
  `normalizer.surgery.epochs` on the training rows against hard negatives (training.train_cdn);
- aliases: the training rows' raw strings;
- the decision (the scorer and its threshold) is fitted on the training rows *cross-fitted*: each
  fold's candidates come from a tower fine-tuned on the other folds only and from their aliases
  only, so the scorer sees a row as the run sees a new string (the disease folder holds records out
  of the encoder for the same reason; 2,000 rows are too few to set a fifth aside);
- figures on the held-out rows: the lexical retriever alone, the tower alone, the combination,
  each as top-1 accuracy and the micro P/R/F1 of its decision, plus the links `min_score` keeps.
"""
from __future__ import annotations

import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from etl.compat import tf
from etl.data.cdn import CdnRecord
from etl.models import folder as model_folder
from etl.models.normalizer import model as normalizer_model
from etl.models.normalizer.evaluation import cdn_counts, lexical_baseline
from etl.models.normalizer.lexical import LexicalIndex
from etl.models.normalizer.training import (SCORER_THRESHOLDS, SIAMESE_GRID, decide_all, fit_scorer, train_cdn,
                                            write_decision)

log = logging.getLogger(__name__)
Log = Callable[[str], None]
LINK_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # min_score values the figures describe


def fold_of(count: int, folds: int, seed: int) -> np.ndarray:
    """Each training row's fold (0 .. folds-1), a seeded permutation dealt round."""
    fold = np.empty(count, dtype=np.int64)
    fold[np.random.default_rng(seed).permutation(count)] = np.arange(count) % folds
    return fold


class SurgeryBuild:
    """The towers of one build: the base folder's tower, reset to its weights before each fine-tuning."""

    def __init__(self, settings, codes: Sequence[str], names: Sequence[str], system: str, say: Log):
        self.s, self.n, self.system, self.say = settings.normalizer.surgery, settings.normalizer, system, say
        self.base = normalizer_model.Normalizer.load(
            model_folder.validate_folder(self.s.base_dir, normalizer_model.KIND), with_scorer=False)
        self.weights = self.base.tower.get_weights()
        self.codes, self.names = list(codes), list(names)
        self.position = {name: i for i, name in enumerate(self.names)}
        self.index = LexicalIndex(self.names)
        self.rng = np.random.default_rng(self.s.seed)

    def normalizer(self, rows: Sequence[CdnRecord], f16: bool = False) -> tuple[normalizer_model.Normalizer, list]:
        """(the base tower fine-tuned on `rows`, with the names and `rows` as its aliases; the epochs' losses)."""
        tower = self.base.tower
        tower.set_weights(self.weights)
        losses = (train_cdn(tower, self.base.tokenizer, rows, self.names, self.index, self.s.epochs,
                            self.n.cdn_batch_size, self.n.hard_negatives, self.s.learning_rate, self.n.scale,
                            self.rng, self.say) if self.s.epochs else [])
        if f16:
            model_folder.round_to_f16(tower)  # the figures describe the float16 weights that are shipped
        found = normalizer_model.Normalizer(
            tower, self.base.tokenizer, self.codes, self.names, np.zeros((len(self.names), 1)),
            [[self.position[r.names[0]]] for r in rows], np.zeros((len(rows), 1)), self.base.decision,
            system=self.system)
        found.name_vectors = found.vectors(self.names)
        found.alias_vectors = found.vectors([r.text for r in rows])
        return found, losses


def top1(records: Sequence[CdnRecord], predicted: Sequence[str | None]) -> float:
    return round(sum(1 for r, p in zip(records, predicted) if p in r.names) / max(len(records), 1), 4)


def direct_tops(normalizer, records: Sequence[CdnRecord]) -> list[list[tuple[int, float]]]:
    scores = normalizer.direct_scores([r.text for r in records])
    return [[(int(n), float(row[n])) for n in normalizer_model.top_indices(row, 5)] for row in scores]


def tower_predictions(names, tops, threshold: float, margin: float) -> list[list[str]]:
    """The tower alone (training.siamese_only's rule): the best name at cosine >= threshold, and the
    next ones within `margin` of it."""
    return [[names[n] for n, s in top if s >= threshold and s >= top[0][1] - margin] for top in tops]


def link_table(normalizer, records, found) -> dict:
    """P/R/F1 of the links each LINK_THRESHOLDS min_score keeps (the scorer's probabilities)."""
    return {str(t): cdn_counts(records, decide_all(normalizer, found, replace(normalizer.decision, threshold=t)))
            .as_dict() for t in LINK_THRESHOLDS}


def build_surgery_normalizer(settings, out, say: Log = log.info) -> str:
    """Build, measure and write the surgery folder (module docstring); its version."""
    from etl.data.surgery import SURGERY_SYSTEM, read_surgery_terms, split_surgery

    s, data = settings.normalizer.surgery, settings.data
    records, concepts = read_surgery_terms(data.surgery_terms)
    train, held = split_surgery(records, s.held_out, s.split_seed)
    codes, names = [c.code for c in concepts], [c.name for c in concepts]
    seen = {n for r in train for n in r.names}
    say(f"{len(records)} surgery rows, {len(names)} ICD-9-CM-3 names; {len(train)} training rows, {len(held)} held "
        f"out ({sum(1 for r in held if r.names[0] not in seen)} of them with a name no training row has)")
    tf.keras.utils.set_random_seed(s.seed)
    build = SurgeryBuild(settings, codes, names, SURGERY_SYSTEM, say)
    started = time.monotonic()

    # Cross-fitted candidates and tower scores of every training row (module docstring).
    fold = fold_of(len(train), s.folds, s.seed)
    found: list = [None] * len(train)
    tops: list = [None] * len(train)
    for k in range(s.folds):
        inside = [i for i in range(len(train)) if fold[i] == k]
        normalizer, _ = build.normalizer([train[i] for i in range(len(train)) if fold[i] != k])
        rows = [train[i] for i in inside]
        for i, c, t in zip(inside, normalizer.candidates([r.text for r in rows]), direct_tops(normalizer, rows)):
            found[i], tops[i] = c, t
        say(f"fold {k + 1}/{s.folds}: {len(inside)} rows scored by a tower and aliases that never saw them")

    shipped, losses = build.normalizer(train, f16=True)
    train_seconds = time.monotonic() - started
    scorer, fitted_on = fit_scorer(shipped, train, s.seed, found)
    shipped.scorer = scorer
    threshold = max(SCORER_THRESHOLDS, key=lambda t: cdn_counts(
        train, decide_all(shipped, found, replace(shipped.decision, threshold=t))).f1)
    shipped.decision = replace(shipped.decision, threshold=threshold)
    tower_rule = max(((t, m) for t in SIAMESE_GRID["threshold"] for m in SIAMESE_GRID["margin"]),
                     key=lambda tm: cdn_counts(train, tower_predictions(names, tops, *tm)).f1)

    # The held-out rows.
    held_found = shipped.candidates([r.text for r in held])
    held_tops = direct_tops(shipped, held)
    best, _ = build.index.search([r.text for r in held], 1)
    lexical = dict(lexical_baseline(train, held, build.index), top1=top1(held, [names[int(row[0])] for row in best]))
    tower = dict(cdn_counts(held, tower_predictions(names, held_tops, *tower_rule)).as_dict(),
                 threshold=tower_rule[0], margin=tower_rule[1], top1=top1(held, [names[t[0][0]] for t in held_tops]))
    first = [m.name if m else None for m in shipped.top_concepts([r.text for r in held])]
    combined = dict(cdn_counts(held, decide_all(shipped, held_found, shipped.decision)).as_dict(),
                    top1=top1(held, first), decision=vars(shipped.decision))
    min_score = cdn_counts(held, decide_all(shipped, held_found, replace(shipped.decision, threshold=max(
        s.min_score, threshold))))
    unseen = [i for i, r in enumerate(held) if r.names[0] not in seen]
    say(f"held-out top-1: lexical {lexical['top1']}, tower {tower['top1']}, combined {combined['top1']}; "
        f"F1 {lexical['f1']:.4f} / {tower['f1']:.4f} / {combined['f1']:.4f} (scorer threshold {threshold}); "
        f"links at min_score {s.min_score}: precision {min_score.precision:.4f} recall {min_score.recall:.4f}")

    out = Path(out)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    base = Path(s.base_dir)
    for name in ("encoder_config.json", "vocab.txt"):
        shutil.copyfile(base / name, staging / name)
    model_folder.save_weights_f16(shipped.tower, staging / "weights.h5")
    (staging / normalizer_model.NAMES_FILE).write_text(
        "".join(f"{code}\t{name}\n" for code, name in zip(codes, names)), encoding="utf-8")
    (staging / normalizer_model.ALIASES_FILE).write_text(
        "".join(f"{r.text}\t{r.names[0]}\n" for r in train), encoding="utf-8")
    np.save(staging / normalizer_model.NAME_VECTORS, shipped.name_vectors.astype(np.float16))
    np.save(staging / normalizer_model.ALIAS_VECTORS, shipped.alias_vectors.astype(np.float16))
    write_decision(staging, shipped.decision, scorer, SURGERY_SYSTEM)
    metrics = {
        "held_out": {"rows": len(held), "unseen_names": len(unseen), "lexical_only": lexical, "siamese_only": tower,
                     "combined": combined, "min_score": dict(min_score.as_dict(), min_score=s.min_score),
                     "combined_unseen_top1": top1([held[i] for i in unseen], [first[i] for i in unseen])},
        "held_out_links_by_min_score": link_table(shipped, held, held_found),
        "cross_fitted_links_by_min_score": link_table(shipped, train, found),
        "decision_fitted_on": dict(fitted_on,
                                   what=f"the {len(train)} training rows, cross-fitted over {s.folds} folds"),
        "training": {"losses": losses, "seconds": round(train_seconds), "names": len(names),
                     "aliases": len(train), "base_version": build.base.version}}
    record = {"surgery": {k: str(v) if isinstance(v, Path) else v for k, v in vars(s).items()},
              "normalizer": {k: getattr(settings.normalizer, k) for k in ("cdn_batch_size", "hard_negatives", "scale")},
              "data": {"surgery_terms": str(data.surgery_terms)}}
    version = model_folder.finish_folder(normalizer_model.KIND, staging, record, metrics)
    model_folder.replace_folder(staging, out)
    say(f"wrote {out} ({version})")
    return version
