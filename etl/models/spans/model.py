"""Relation-conditioned MRC span extractor: ELECTRA encoder + per-token start/end pointers.

Model: `[CLS] query [SEP] passage [SEP]` (segment ids 0 / 1) -> ELECTRA -> Dense(2) logits: for
every token, "a span starts here" and "a span ends here" (independent sigmoids, so one question can
have several answers, or none). Only passage tokens carry loss (`pointer_loss`).

Multi-turn extraction (pairing guaranteed by construction; see etl/data/examples.py):
  turn 1  "哪些疾病提到了X？"            -> the subjects of predicate p in the text
  turn 2  "<subject>的X有哪些？"          -> the objects of p for that one subject
Two diseases in one text, each with its own symptoms, therefore never swap their symptoms: the
object question names the subject.

Entity types: a predicate with one (subject type, object type) pair in the schema gets that pair.
同义词 has ten pairs, all (T, T): T is taken from another triple of the same text that mentions
the subject or the object (e.g. 急性胰腺炎 is a 疾病 through 临床表现), else 疾病 (77% of
同义词 triples in CMeIE); `SpanTriple.types_inferred` says when that fallback was used.

Lexicon (etl/models/spans/lexicon.py, `spans.lexicon`): the passage tokens' B/I/E flags for known entity
strings of each type enter the encoder beside the token embeddings; the folder then holds
`lexicon.tsv`, and the model has a third input.

Model folder: the project's conventions (etl/models/folder.py). `weights.h5` is Keras HDF5 stored
as float16 (half the size; Keras casts back on load); training rounds the weights to float16
before the final evaluation, so metrics.json describes exactly the shipped weights.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from etl.compat import keras, tf
from etl.models import registry
from etl.models.folder import check_folder, read_json, read_version, source_fingerprint
from etl.models.spans.knowledge import FILE as KNOWLEDGE_FILE, FindingKnowledge
from etl.models.spans.lexicon import Lexicon
from etl.models.spans.pointers import PointerSpan, barrier_token_ids, decode_pointers
from etl.models.spans.data import Encoded, QuestionEncoder, make_batch, model_inputs
from etl.models.tokens import batch_rows, group_by_bucket, load_tokenizer

KIND = "spans"
# A model trained with the main-condition question runs etl/notes/conditions.py's code too (its ranking
# rules decide which disease every window is read about), and its triples pass the note rules
# (etl/notes/) and the knowledge's scoring, in the order etl/notes/reading.py's `merge_triples` and
# `read_note` apply them: a loaded model's version is `spans-<weights + lexicon + labels + knowledge>@<that
# code's fingerprint>`, so editing the rules or their order re-extracts every document, as a new
# model would. The run's stages (etl/run/stages.py) are in it too: they decide which texts are read
# as notes, the notes' least triple score, the trim of a leading cue and the past-event rule. The
# rest of the run (threads, driver, job) is not: editing it re-extracts nothing.
CONDITION_MODULES = ("etl.notes.conditions", "etl.notes.findings", "etl.notes.history", "etl.notes.attribution",
                     "etl.notes.lists", "etl.notes.names", "etl.notes.reading", "etl.models.spans.knowledge",
                     "etl.run.stages")
POINTER_PRIOR_LOGIT = -4.0  # sigmoid(-4) = 1.8%
log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- model
def build_model(config_path: str | Path, checkpoint: str | Path | None = None,
                keep_tokens: Sequence[int] | None = None, lexicon_features: int = 0):
    """Keras model (token_ids, segment_ids[, lexicon flags]) -> logits [batch, length, 2] (start, end)."""
    from etl.models.encoder import build_encoder

    encoder = build_encoder("electra", config_path, checkpoint, token_features=lexicon_features,
                            keep_tokens=list(keep_tokens) if keep_tokens is not None else None)
    # Bias starts at the prior of a boundary (~2% of passage tokens): the head does not spend its
    # first epoch learning "mostly no", which a from-scratch encoder on a small CPU budget can't afford.
    logits = keras.layers.Dense(
        2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        bias_initializer=keras.initializers.Constant(POINTER_PRIOR_LOGIT), name="Pointer-Logits",
    )(encoder.model.output)
    return keras.Model(encoder.model.inputs, logits, name="span_extractor")


def pointer_loss(labels, logits, mask, positive_weight: float = 1.0):
    """Per-token loss [batch, length]: start BCE + end BCE, zero where mask is 0 (query, padding).

    `positive_weight` > 1 up-weights the rare boundary tokens (~2% of the passage), which lifts
    recall at the 0.5 threshold for a model trained briefly from scratch.
    """
    labels = tf.cast(labels, logits.dtype)
    bce = tf.nn.weighted_cross_entropy_with_logits(labels=labels, logits=logits, pos_weight=positive_weight)
    return tf.reduce_sum(bce, axis=-1) * tf.cast(mask, logits.dtype)


def mean_pointer_loss(labels, logits, mask, positive_weight: float = 1.0):
    """Scalar loss: mean over passage tokens only (so padding never dilutes it)."""
    mask = tf.cast(mask, logits.dtype)
    return tf.reduce_sum(pointer_loss(labels, logits, mask, positive_weight)) / tf.maximum(tf.reduce_sum(mask), 1.0)


# --------------------------------------------------------------------------- extraction API
@dataclass(frozen=True)
class SpanTriple:
    subject: str
    predicate: str
    object: str
    subject_start: int  # character offsets in the text, end exclusive
    subject_end: int
    object_start: int
    object_end: int
    subject_score: float  # start prob x end prob of the chosen occurrence
    object_score: float
    score: float  # subject_score x object_score (x relation probability when one was given)
    subject_type: str
    object_type: str
    types_inferred: bool = False  # True: 同义词 type fallback (no other triple typed the entities)




class SpanExtractor:
    """A trained span model with its tokenizer, questions and decoding settings.

    Load once (`SpanExtractor.load(folder)`), then call `extract_batch` with many texts at once:
    questions of all texts are grouped by length bucket and run in fixed-shape batches through one
    compiled function (no `model.predict` per question).
    """

    VERSIONED_FILES = registry.versioned_files(KIND)  # what the version hashes after weights.h5

    def __init__(self, model, tokenizer, labels: Mapping, *, buckets: Sequence[int], batch_size: int = 32,
                 start_threshold: float = 0.5, end_threshold: float = 0.5, max_span_len: int = 40,
                 version: str = "", folder: Path | None = None, lexicon=None, note_threshold: float | None = None,
                 knowledge: FindingKnowledge | None = None):
        self.model, self.tokenizer, self.labels, self.lexicon = model, tokenizer, labels, lexicon
        # the training triples' subjects, for a note's attribution (etl/notes/attribution.py)
        self.knowledge = knowledge
        self.buckets, self.batch_size = tuple(buckets), batch_size
        self.start_threshold, self.end_threshold, self.max_span_len = start_threshold, end_threshold, max_span_len
        self.note_threshold = note_threshold  # start = end threshold for the notes' passages (None: the same)
        self.version, self.folder = version, folder
        self.encoder = QuestionEncoder(tokenizer, self.buckets[-1], lexicon)
        self.barrier_ids = barrier_token_ids(tokenizer)
        self.truncated_texts = 0  # texts longer than the largest bucket (their tail is not read)
        # One trace for every bucket and batch size (dynamic dims in the signature): a trace costs
        # ~0.5 s, and fixed-shape traces would be rebuilt for each (rows, bucket) pair a run meets.
        # inputs: token ids, segment ids[, lexicon flags] (spans.data.model_inputs)
        spec = [tf.TensorSpec([None, None], tf.int32)] * 2
        if lexicon is not None:
            spec.append(tf.TensorSpec([None, None, lexicon.features], tf.float32))
        # `forward(*inputs)`: the one traced call over prepared inputs (what bench/floor.py times)
        self.forward = tf.function(lambda *inputs: tf.sigmoid(model(list(inputs), training=False)),
                                    input_signature=spec)

    @classmethod
    def load(cls, folder: str | Path, **overrides) -> "SpanExtractor":
        """Build the model from a folder written by `etl train spans`; keyword overrides win over
        the folder's settings (buckets, batch_size, start_threshold, end_threshold, max_span_len)."""
        folder = check_folder(folder, KIND)
        labels, settings = read_json(folder / "labels.json"), read_json(folder / "settings.json")
        lexicon = Lexicon.load(folder / "lexicon.tsv") if (folder / "lexicon.tsv").is_file() else None
        knowledge = FindingKnowledge.load(folder / KNOWLEDGE_FILE) if (folder / KNOWLEDGE_FILE).is_file() else None
        model = build_model(folder / "encoder_config.json",
                            lexicon_features=lexicon.features if lexicon is not None else 0)
        model.load_weights(str(folder / "weights.h5"))
        decode = settings.get("spans", settings)
        options = {key: decode[key] for key in ("buckets", "batch_size", "start_threshold",
                                                  "end_threshold", "max_span_len") if key in decode}
        decoding = dict(labels.get("decoding", {}))  # tuned on dev after training (spans.evaluation.tune_threshold)
        notes = decoding.pop("notes", None)  # the notes' register, tuned on the dev notes' windows
        options.update(decoding)
        if notes:
            options["note_threshold"] = notes["start_threshold"]
        options.update({k: v for k, v in overrides.items() if v is not None})
        version = read_version(folder)
        if (labels.get("main_condition") or {}).get("query"):
            version += "@" + source_fingerprint(CONDITION_MODULES)  # the code that picks the main condition
        return cls(model, load_tokenizer(str(folder / "vocab.txt")), labels,
                   version=version, folder=folder, lexicon=lexicon, knowledge=knowledge, **options)

    def warm_up(self) -> None:
        """Trace the compiled function once now (its signature has dynamic shapes: one trace serves
        every batch), so the first documents meet a ready model and stage times measure inference."""
        self.answer([(self.subject_query(self.predicates[0]), "预热")])

    @property
    def predicates(self) -> tuple[str, ...]:
        return tuple(self.labels["predicates"])

    # ----------------------------------------------------------------- questions
    def answer(self, questions: Sequence[tuple[str, ...]],
               threshold: float | Sequence[float | None] | None = None) -> list[list[PointerSpan]]:
        """Spans for many (query, text[, subject]) questions, in input order; `subject` is the
        entity a turn-2 query names (flagged in the passage when the model has a lexicon).
        `threshold`: start = end threshold for these questions, one for all or one per question
        (None: the model's own)."""
        encoded = [self.encoder.encode(query, text, subject=rest[0] if rest else "")
                   for query, text, *rest in questions]
        return self.answer_encoded(encoded, threshold)

    def answer_encoded(self, encoded: Sequence[Encoded],
                       threshold: float | Sequence[float | None] | None = None) -> list[list[PointerSpan]]:
        if threshold is None or isinstance(threshold, (int, float)):
            threshold = [threshold] * len(encoded)
        starts = [self.start_threshold if t is None else t for t in threshold]
        ends = [self.end_threshold if t is None else t for t in threshold]
        results: list[list[PointerSpan]] = [[] for _ in encoded]
        lengths = [len(e.token_ids) for e in encoded]
        for bucket, indices in group_by_bucket(lengths, self.buckets, self.batch_size):
            items = [encoded[i] for i in indices]
            batch = make_batch(items, bucket, batch_rows(len(items), self.batch_size))
            probs = self.forward(*(tf.constant(x) for x in model_inputs(batch))).numpy()
            for row, (index, item) in enumerate(zip(indices, items)):
                first = item.passage_start
                n = min(len(item.offsets), bucket - first)
                barriers = np.isin(item.token_ids[first:first + n], self.barrier_ids)
                results[index] = decode_pointers(
                    probs[row, first:first + n, 0], probs[row, first:first + n, 1], item.offsets[:n],
                    starts[index], ends[index], self.max_span_len, barriers)
        return results

    @property
    def main_condition_query(self) -> str | None:
        """The question that finds a note's main condition (etl/notes/conditions.py); None for a model
        trained without it (the pipeline then reads plain windows)."""
        return (self.labels.get("main_condition") or {}).get("query")

    def main_conditions(self, texts: Sequence[str], threshold: float | None = None) -> list[list[PointerSpan]]:
        """Answers to the main-condition question in each text (window offsets); `threshold`:
        a lower one gives candidates (etl/notes/conditions.py ranks them), default the model's."""
        query = self.main_condition_query
        if query is None:
            return [[] for _ in texts]
        return self.answer([(query, text) for text in texts], threshold)

    def subject_query(self, predicate: str) -> str:
        return self.labels["predicates"][predicate]["subject_query"]

    def object_query(self, predicate: str, subject: str) -> str:
        return self.labels["predicates"][predicate]["object_query"].format(subject=subject)

    def prepare(self, texts: Iterable[str]) -> None:
        """Tokenise passages ahead of `extract_batch` (pure Python, cached): the pipeline calls it
        on its reader thread so tokenising overlaps model execution instead of preceding it."""
        for text in texts:
            self.encoder.passage(text)

    # ----------------------------------------------------------------- triples
    def extract(self, text: str, predicates: Iterable[str] | Mapping[str, float]) -> list[SpanTriple]:
        return self.extract_batch([(text, predicates)])[0]

    def extract_batch(self, items: Sequence[tuple[str, Iterable[str] | Mapping[str, float]]],
                      notes: Sequence[bool] | None = None) -> list[list[SpanTriple]]:
        """Triples for many (text, predicates) items; `predicates` may be a {predicate: probability}
        dict from the relation classifier (the probability then scales the triple score).
        Predicates the model was not trained for are skipped with a warning. `notes[i]`: item i
        is a note's passage, decoded at the notes' threshold (`note_threshold`)."""
        thresholds = [self.note_threshold if note else None for note in (notes or [False] * len(items))]
        known = self.labels["predicates"]
        wanted: list[dict[str, float]] = []
        for text, predicates in items:
            scores = dict(predicates) if isinstance(predicates, Mapping) else {p: 1.0 for p in predicates}
            unknown = [p for p in scores if p not in known]
            if unknown:
                log.warning("span model %s has no question for predicates %s: skipped", self.version, unknown)
            wanted.append({p: float(s) for p, s in scores.items() if p in known})
        self.truncated_texts += sum(
            len(self.encoder.passage(text)[1]) + 3 > self.buckets[-1] for text, _ in items)

        # turn 1: subjects of every (text, predicate)
        first = [(i, p) for i, scores in enumerate(wanted) for p in scores]
        subject_spans = self.answer([(self.subject_query(p), items[i][0]) for i, p in first],
                                    [thresholds[i] for i, _ in first])
        # turn 2: objects of every (text, predicate, subject string)
        second, seen = [], set()
        for (i, p), spans in zip(first, subject_spans):
            for span in spans:
                subject = items[i][0][span.start:span.end]
                if (i, p, subject) not in seen:
                    seen.add((i, p, subject))
                    second.append((i, p, subject, [s for s in spans if items[i][0][s.start:s.end] == subject]))
        object_spans = self.answer([(self.object_query(p, subject), items[i][0], subject)
                                    for i, p, subject, _ in second], [thresholds[i] for i, *_ in second])

        results: list[list[SpanTriple]] = [[] for _ in items]
        for (i, p, subject, occurrences), objects in zip(second, object_spans):
            text = items[i][0]
            by_object: dict[str, list[PointerSpan]] = {}
            for span in objects:
                by_object.setdefault(text[span.start:span.end], []).append(span)
            for obj, obj_occurrences in by_object.items():
                s, o = _nearest(occurrences, obj_occurrences)
                s_score = max(x.score for x in occurrences)
                o_score = max(x.score for x in obj_occurrences)
                results[i].append(SpanTriple(subject, p, obj, s.start, s.end, o.start, o.end, s_score, o_score,
                                             s_score * o_score * wanted[i][p], "", ""))
        return [self._typed(triples) for triples in results]

    def _typed(self, triples: list[SpanTriple]) -> list[SpanTriple]:
        """Attach (subject_type, object_type) from the schema pairs stored in labels.json."""
        types = self.labels["types"]
        known: dict[str, str] = {}
        for t in triples:
            pairs = types.get(t.predicate, [])
            if len(pairs) == 1:
                known.setdefault(t.subject, pairs[0][0])
                known.setdefault(t.object, pairs[0][1])
        typed = []
        for t in triples:
            pairs = types.get(t.predicate, [])
            inferred = False
            if len(pairs) == 1:
                subject_type, object_type = pairs[0]
            else:  # 同义词: both sides share a type; take it from the text's other triples
                candidates = {x for x, _ in pairs}
                found = [known[e] for e in (t.subject, t.object) if known.get(e) in candidates]
                inferred = not found
                subject_type = object_type = found[0] if found else self.labels.get("synonym_default_type", "疾病")
            typed.append(replace(t, subject_type=subject_type, object_type=object_type, types_inferred=inferred))
        return typed


def _nearest(subjects: Sequence[PointerSpan], objects: Sequence[PointerSpan]) -> tuple[PointerSpan, PointerSpan]:
    """The subject and object occurrences closest to each other (ties: the earliest)."""
    def rank(pair):
        s, o = pair
        return (max(o.start - s.end, s.start - o.end, 0), min(s.start, o.start), s.start, o.start)
    return min(((s, o) for s in subjects for o in objects), key=rank)


def labels_for(schema, main_condition: bool = False) -> dict:
    """labels.json content: the questions and type pairs, so a folder does not depend on the code's
    current wording of the questions. `main_condition`: the model was trained on the notes'
    main-condition question (etl/notes/conditions.py), which the pipeline then asks."""
    from etl.notes.conditions import MAIN_CONDITION_QUERY

    labels = {
        "kind": KIND,
        "predicates": {p: {"subject_query": schema.subject_query(p),
                           "object_query": schema.predicates[p].object_query}
                       for p in schema.predicate_names},
        "types": {p: [list(pair) for pair in schema.types_for(p)] for p in schema.predicate_names},
        "synonym_default_type": "疾病",
        "cmeee_query": "找出文本中的{noun}",
    }
    if main_condition:
        labels["main_condition"] = {"query": MAIN_CONDITION_QUERY}
    return labels


__all__ = ["SpanExtractor", "SpanTriple", "build_model", "pointer_loss", "mean_pointer_loss",
           "labels_for"]
