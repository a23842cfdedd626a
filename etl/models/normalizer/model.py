"""The normaliser: raw strings -> the standard names (concepts) of one code system per folder.

The disease folder (models/normalizer) maps diagnoses to ICD-10 Beijing 6.01 names, the surgery
folder (models/normalizer-surgery, surgery.py) operations to ICD-9-CM-3 names; the code is the
same, labels.json's `system` says which system a folder's codes belong to (ConceptMatch.system).

    text ─┬─ siamese tower ─> vector ─┬─ cosine to every standard name (name_vectors.npy)
          │                           └─ cosine to the nearest aliases (CHIP-CDN training texts;
          │                              each votes for the names it was normalised to)
          └─ parts (`高血压;冠心病`: lexical.parts), each scored the same way

A name's *fused* score for a text is its best cosine, directly or through an alias. The
candidates of a text are its `text_candidates` best names and the `part_candidates` best of each
part; each candidate gets FEATURES (its fused, direct and alias scores, how many aliases voted,
its rank and gap to the best, its best part score and rank, whether the name is written in the
text, how many parts there are), and the *scorer*, a small network fitted on CHIP-CDN training
records the encoder never saw (training.py), turns them into a probability. A text gets the
candidates of probability >= `threshold`, best first, at most `max_concepts`: CHIP-CDN texts
often carry two or three names, and a string that names no diagnosis gets none.

Model folder (etl.models.folder conventions) plus:
    names.tsv            code<TAB>name of every standard name, in the vectors' order
                         (code empty: a CHIP-CDN annotation outside the vocabulary)
    name_vectors.npy     [names, hidden] float16, L2-normalised, from the shipped weights
    aliases.tsv          text<TAB>name##name: CHIP-CDN training texts
    alias_vectors.npy    [aliases, hidden] float16
    scorer.json          the scorer's weights (FEATURES -> probability)
All of them are in the version (Normalizer.VERSIONED_FILES), so a new vocabulary re-normalises the graph.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from etl.compat import tf
from etl.data.cdn import NAME_SEPARATOR
from etl.errors import ConfigError
from etl.models import folder as model_folder, registry
from etl.models.normalizer.encoder import build_tower, encode
from etl.models.normalizer.lexical import parts
from etl.models.tokens import load_tokenizer

KIND = "normalizer"
# The code system of a folder whose labels.json predates its `system` key (the disease folders
# trained before the surgery one): the CHIP-CDN vocabulary.
SYSTEM = "ICD-10-BJ-6.01"
OUTSIDE_SYSTEM = "CHIP-CDN"  # a name the annotators used that the vocabulary lacks (no code)
NAMES_FILE, NAME_VECTORS = "names.tsv", "name_vectors.npy"
ALIASES_FILE, ALIAS_VECTORS = "aliases.tsv", "alias_vectors.npy"
SCORER_FILE = "scorer.json"
FEATURES = ("fused", "direct", "alias_best", "alias_votes", "rank", "gap", "part_best", "part_rank",
            "in_text", "parts", "top1")
CHUNK = 64  # texts scored together (their score rows over all names stay a few MB)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    threshold: float = 0.4  # scorer probability a concept needs
    alias_neighbours: int = 20
    text_candidates: int = 10
    part_candidates: int = 3
    max_concepts: int = 5

    @classmethod
    def from_labels(cls, labels: dict) -> "Decision":
        return cls(**{k: type(getattr(cls, k))(labels[k]) for k in cls.__dataclass_fields__ if k in labels})


@dataclass(frozen=True)
class ConceptMatch:
    code: str  # "" for a name outside the vocabulary
    name: str
    score: float
    system: str = SYSTEM  # the folder's code system (labels.json), OUTSIDE_SYSTEM for a name without code

    def as_json(self) -> dict:
        return {"code": self.code, "name": self.name, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Candidates:
    """One text's candidate names (indices into the names) and their FEATURES rows."""
    names: np.ndarray
    features: np.ndarray


class Scorer:
    """FEATURES -> probability: standardise, Dense(hidden, relu), Dense(1, sigmoid), in numpy."""

    def __init__(self, mean, scale, w1, b1, w2, b2):
        self.mean, self.scale = np.asarray(mean, np.float32), np.asarray(scale, np.float32)
        self.w1, self.b1 = np.asarray(w1, np.float32), np.asarray(b1, np.float32)
        self.w2, self.b2 = np.asarray(w2, np.float32), np.asarray(b2, np.float32)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        hidden = np.maximum((features - self.mean) / self.scale @ self.w1 + self.b1, 0.0)
        return (1.0 / (1.0 + np.exp(-(hidden @ self.w2 + self.b2)))).reshape(-1)

    def as_json(self) -> dict:
        return {"features": list(FEATURES), **{k: np.asarray(getattr(self, k)).tolist()
                                               for k in ("mean", "scale", "w1", "b1", "w2", "b2")}}

    @classmethod
    def from_json(cls, value: dict, where: str = SCORER_FILE) -> "Scorer":
        if value.get("features") != list(FEATURES):
            raise ConfigError(f"{where}: fitted on features {value.get('features')}, this code computes "
                              f"{list(FEATURES)} (retrain with `etl train {KIND} --retune`)")
        return cls(*(value[k] for k in ("mean", "scale", "w1", "b1", "w2", "b2")))


def read_names(path: Path) -> tuple[list[str], list[str]]:
    codes, names = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        code, _, name = line.partition("\t")
        codes.append(code)
        names.append(name)
    return codes, names


def read_aliases(path: Path, position: dict[str, int]) -> tuple[list[str], list[list[int]]]:
    texts, targets = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text, _, joined = line.partition("\t")
        try:
            targets.append([position[n] for n in joined.split(NAME_SEPARATOR) if n])
        except KeyError as error:
            raise ConfigError(f"{path}:{number}: alias of {error.args[0]!r}, a name not in {NAMES_FILE}") from None
        texts.append(text)
    return texts, targets


class Normalizer:
    """A loaded normaliser folder (`Normalizer.load`); `normalize(texts)` is all the run needs."""

    VERSIONED_FILES = registry.versioned_files(KIND)  # what the version hashes after weights.h5

    def __init__(self, tower, tokenizer, codes: Sequence[str], names: Sequence[str], name_vectors: np.ndarray,
                 alias_targets: Sequence[Sequence[int]], alias_vectors: np.ndarray, decision: Decision,
                 scorer: Scorer | None = None, version: str = "normalizer-unsaved", system: str = SYSTEM):
        self.tower, self.tokenizer = tower, tokenizer
        self.codes, self.names = list(codes), list(names)
        self.name_vectors = np.asarray(name_vectors, dtype=np.float32)
        self.alias_targets = [list(t) for t in alias_targets]
        self.alias_vectors = np.asarray(alias_vectors, dtype=np.float32)
        self.decision, self.scorer, self.version, self.system = decision, scorer, version, system

    @classmethod
    def load(cls, folder: str | Path, with_scorer: bool = True) -> "Normalizer":
        folder = model_folder.check_folder(folder, KIND)
        labels = model_folder.read_json(folder / "labels.json")
        codes, names = read_names(folder / NAMES_FILE)
        _, alias_targets = read_aliases(folder / ALIASES_FILE, {n: i for i, n in enumerate(names)})
        name_vectors, alias_vectors = np.load(folder / NAME_VECTORS), np.load(folder / ALIAS_VECTORS)
        if name_vectors.shape[0] != len(names) or alias_vectors.shape[0] != len(alias_targets):
            raise ConfigError(f"{KIND} model folder {folder}: {NAME_VECTORS} / {ALIAS_VECTORS} do not match "
                              f"{NAMES_FILE} / {ALIASES_FILE} (retrain with `etl train {KIND}`)")
        scorer = Scorer.from_json(model_folder.read_json(folder / SCORER_FILE), str(folder / SCORER_FILE)) \
            if with_scorer else None
        tower = build_tower(folder / "encoder_config.json")
        tower.load_weights(str(folder / "weights.h5"))
        system = labels.get("system", SYSTEM)
        if not isinstance(system, str) or not system.strip():
            raise ConfigError(f"{KIND} model folder {folder}: labels.json's system must be a code system name "
                              f"(e.g. {SYSTEM!r}), got {system!r}")
        return cls(tower, load_tokenizer(folder / "vocab.txt"), codes, names, name_vectors, alias_targets,
                   alias_vectors, Decision.from_labels(labels), scorer, model_folder.read_version(folder), system)

    def warm_up(self) -> None:
        """Trace the tower's compiled function once now, so the first names meet a ready model and
        a run's stage times measure normalisation."""
        self.normalize(["预热"])

    # ------------------------------------------------------------------ candidates and features
    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        return encode(self.tower, self.tokenizer, texts)

    def direct_scores(self, texts: Sequence[str]) -> np.ndarray:
        """[texts, names] cosines of the texts to the standard names (the siamese encoder alone)."""
        return self.vectors(texts) @ self.name_vectors.T

    def _scores(self, vectors: np.ndarray, k: int, depth: int):
        """Per row: the direct cosines to every name, the `depth` best of them, and the aliases'
        best cosine and vote share for each name the `k` nearest aliases voted for. A name's fused
        score is max(direct, alias best); only voted names can rise, so a row's `depth` best fused
        names are among its `depth` best direct names and its voted ones."""
        direct = vectors @ self.name_vectors.T
        depth = min(depth, direct.shape[1])
        best_direct = tf.math.top_k(direct, k=depth).indices.numpy()  # a heap: ~10x argpartition here
        best: list[dict] = [{} for _ in range(len(vectors))]
        votes: list[dict] = [{} for _ in range(len(vectors))]
        if len(self.alias_targets) and k > 0:
            alias = vectors @ self.alias_vectors.T
            k = min(k, alias.shape[1])
            nearest = np.argpartition(-alias, k - 1, axis=1)[:, :k]
            for row, columns in enumerate(nearest):
                for a in columns:
                    value = float(alias[row, a])
                    for n in self.alias_targets[a]:
                        best[row][n] = max(best[row].get(n, -1.0), value)
                        votes[row][n] = votes[row].get(n, 0.0) + 1.0 / k
        return direct, best_direct, best, votes

    def candidates(self, texts: Sequence[str], decision: Decision | None = None) -> list[Candidates]:
        """The candidate names of each text with their FEATURES (module docstring)."""
        d = decision or self.decision
        out: list[Candidates] = []
        for start in range(0, len(texts), CHUNK):
            chunk = list(texts[start:start + CHUNK])
            pieces = [parts(t) for t in chunk]
            rows = chunk + [p for ps in pieces for p in ps]
            direct, best_direct, best, votes = self._scores(self.vectors(rows), d.alias_neighbours,
                                                            max(d.text_candidates, d.part_candidates))

            def fused(row: int, n: int) -> float:
                return max(float(direct[row, n]), best[row].get(n, -1.0))

            def ranked(row: int, depth: int) -> list[int]:
                pool = set(int(n) for n in best_direct[row]) | set(best[row])
                return sorted(pool, key=lambda n: (-fused(row, n), n))[:depth]

            part_row = len(chunk)
            for i, text in enumerate(chunk):
                own = list(range(part_row, part_row + len(pieces[i])))
                part_row += len(pieces[i])
                top = ranked(i, d.text_candidates)
                rank = {n: r for r, n in enumerate(top)}
                part_rank: dict[int, int] = {}
                for row in own:
                    for r, n in enumerate(ranked(row, d.part_candidates)):
                        part_rank[n] = min(part_rank.get(n, d.part_candidates), r)
                names = top + [n for n in part_rank if n not in rank]
                first = fused(i, top[0])
                features = np.zeros((len(names), len(FEATURES)), dtype=np.float32)
                for c, n in enumerate(names):
                    score = fused(i, n)
                    features[c] = (score, direct[i, n], max(best[i].get(n, 0.0), 0.0), votes[i].get(n, 0.0),
                                   rank.get(n, d.text_candidates) / d.text_candidates, first - score,
                                   max((fused(row, n) for row in own), default=0.0),
                                   part_rank.get(n, d.part_candidates) / d.part_candidates,
                                   1.0 if len(self.names[n]) >= 2 and self.names[n] in text else 0.0,
                                   len(own) / 5.0, 1.0 if rank.get(n) == 0 else 0.0)
                out.append(Candidates(np.array(names, dtype=np.int64), features))
        return out

    def decide(self, candidates: Candidates, decision: Decision | None = None,
               probabilities: np.ndarray | None = None) -> list[ConceptMatch]:
        """The concepts of one text: candidates the scorer gives >= threshold, best first."""
        d = decision or self.decision
        p = self.scorer(candidates.features) if probabilities is None else probabilities
        order = np.argsort(-p, kind="stable")[:d.max_concepts]
        matches = []
        for j in order:
            if p[j] >= d.threshold:
                code, name = self.codes[int(candidates.names[j])], self.names[int(candidates.names[j])]
                matches.append(ConceptMatch(code, name, float(p[j]), self.system if code else OUTSIDE_SYSTEM))
        return matches

    def top_concepts(self, texts: Sequence[str]) -> list[ConceptMatch | None]:
        """Each text's candidate the scorer ranks first, whatever its probability (top-1 accuracy)."""
        if self.scorer is None:
            raise ConfigError(f"{KIND} model has no {SCORER_FILE}: fit it with `etl train {KIND} --retune`")
        return [(self.decide(c, replace(self.decision, threshold=0.0)) or [None])[0]
                for c in self.candidates([t.strip() or "-" for t in texts])]

    def normalize(self, texts: Sequence[str]) -> list[list[ConceptMatch]]:
        """The concepts of each text, best first (possibly none)."""
        if self.scorer is None:
            raise ConfigError(f"{KIND} model has no {SCORER_FILE}: fit it with `etl train {KIND} --retune`")
        texts = [t.strip() for t in texts]
        found = self.candidates([t or "-" for t in texts])
        return [self.decide(c) if text else [] for text, c in zip(texts, found)]


def top_indices(scores: np.ndarray, depth: int) -> np.ndarray:
    """The `depth` best indices of one score row, best first."""
    depth = min(depth, len(scores))
    part = np.argpartition(-scores, depth - 1)[:depth]
    return part[np.argsort(-scores[part], kind="stable")]
