"""Training the siamese normaliser: the CBLUE pair tasks first, then CHIP-CDN against hard negatives.

1. Pairs (Sentence-BERT's classification objective): for each pair, u and v from the one tower,
   (u, v, |u - v|) into a softmax over the task's labels (one small head per task: CHIP-STS 2,
   KUAKE-QQR 3, KUAKE-QTR 4 labels). Teaches the tower what medical texts say the same thing.
2. CHIP-CDN (retrieval objective): each (raw text, gold name) is a positive; the negatives are
   the other names in the batch plus `hard_negatives` names the lexical retriever ranks high for
   that text but the annotators did not choose (`乙状结肠良性肿瘤` for `乙状结肠腺癌`): a softmax
   over scaled cosine similarities picks the gold name. Another gold name of the same text is
   never a negative.
The heads are dropped afterwards; the run compares vectors only.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

import numpy as np

from etl.compat import keras, tf
from etl.data.cdn import PAIR_LABELS, CdnRecord, TextPair
from etl.models.normalizer.encoder import batch_ids, token_rows
from etl.models.normalizer.lexical import LexicalIndex
from etl.models.training import make_optimizer

log = logging.getLogger(__name__)
Log = Callable[[str], None]


def train_pairs(tower, tokenizer, pairs: Sequence[TextPair], epochs: int, batch_size: int, learning_rate: float,
                rng, say: Log = log.info) -> list[float]:
    """Stage 1; returns the mean loss of each epoch."""
    heads = {task: keras.layers.Dense(n, name=f"pair_head_{task}") for task, n in PAIR_LABELS.items()}
    firsts, seconds = token_rows(tokenizer, [p.first for p in pairs]), token_rows(tokenizer, [p.second for p in pairs])
    by_task = {task: [i for i, p in enumerate(pairs) if p.task == task] for task in PAIR_LABELS}
    steps = sum(-(-len(v) // batch_size) for v in by_task.values()) * epochs
    optimizer = make_optimizer(learning_rate, steps, 0.05, 1.0)
    width = 3 * tower.output_shape[-1]
    for head in heads.values():
        head.build((None, width))
    optimizer.build(tower.trainable_variables + [v for h in heads.values() for v in h.trainable_variables])
    losses_per_epoch = []

    def step_for(task):
        head = heads[task]

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)] * 2 + [tf.TensorSpec([None], tf.int32)])
        def step(a, b, y):
            with tf.GradientTape() as tape:
                u, v = tower(a, training=True), tower(b, training=True)
                logits = head(tf.concat([u, v, tf.abs(u - v)], axis=-1))
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
            variables = tower.trainable_variables + head.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss
        return step

    steps_by_task = {task: step_for(task) for task in PAIR_LABELS}
    for epoch in range(epochs):
        started, losses = time.monotonic(), []
        batches = [(task, idx[s:s + batch_size]) for task, idx in by_task.items()
                   for idx in [list(rng.permutation(idx))] for s in range(0, len(idx), batch_size)]
        rng.shuffle(batches)
        for task, rows in batches:
            a = batch_ids([firsts[i] for i in rows])
            b = batch_ids([seconds[i] for i in rows])
            y = np.array([pairs[i].label for i in rows], dtype=np.int32)
            losses.append(float(steps_by_task[task](a, b, y)))
        losses_per_epoch.append(round(float(np.mean(losses)), 4))
        say(f"pairs epoch {epoch + 1}/{epochs}: loss {losses_per_epoch[-1]} ({time.monotonic() - started:.0f} s)")
    return losses_per_epoch


def hard_negative_pool(records: Sequence[CdnRecord], names_index: LexicalIndex, depth: int) -> list[list[int]]:
    """Per record, the names (indices) the lexical retriever ranks in its top `depth` that are not gold."""
    ranked, _ = names_index.search([r.text for r in records], depth)
    pools = []
    for record, row in zip(records, ranked):
        gold = set(record.names)
        pools.append([int(i) for i in row if names_index.strings[i] not in gold])
    return pools


def train_cdn(tower, tokenizer, records: Sequence[CdnRecord], names: Sequence[str], names_index: LexicalIndex,
              epochs: int, batch_size: int, hard_negatives: int, learning_rate: float, scale: float, rng,
              say: Log = log.info, negative_depth: int = 30) -> list[float]:
    """Stage 2; returns the mean loss of each epoch. `names` are the standard names (any gold name
    outside them is added as a candidate string for its positives)."""
    positives = [(r, name) for r in records for name in r.names]
    pools = hard_negative_pool(records, names_index, negative_depth)
    pool_of = {id(r): pool for r, pool in zip(records, pools)}
    text_rows = {}
    name_rows: dict[str, list[int]] = {}

    def rows_of(cache, text):
        if text not in cache:
            cache[text] = token_rows(tokenizer, [text])[0]
        return cache[text]

    steps = -(-len(positives) // batch_size) * epochs
    optimizer = make_optimizer(learning_rate, steps, 0.05, 1.0)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32),
                                  tf.TensorSpec([None, None], tf.bool)])
    def step(anchors, candidates, allowed):
        with tf.GradientTape() as tape:
            a = tf.math.l2_normalize(tower(anchors, training=True), axis=-1)
            c = tf.math.l2_normalize(tower(candidates, training=True), axis=-1)
            logits = scale * tf.matmul(a, c, transpose_b=True)
            logits = tf.where(allowed, logits, tf.fill(tf.shape(logits), -1e4))
            labels = tf.range(tf.shape(a)[0])
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        variables = tower.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    losses_per_epoch = []
    for epoch in range(epochs):
        started, losses = time.monotonic(), []
        order = rng.permutation(len(positives))
        for s in range(0, len(order), batch_size):
            batch = [positives[i] for i in order[s:s + batch_size]]
            candidate_names = [name for _, name in batch]
            for record, _ in batch:
                pool = pool_of[id(record)]
                picks = rng.choice(len(pool), size=min(hard_negatives, len(pool)), replace=False) if pool else []
                candidate_names += [names[pool[int(p)]] for p in picks]
            allowed = np.array([[j == i or candidate_names[j] not in record.names for j in range(len(candidate_names))]
                                for i, (record, _) in enumerate(batch)], dtype=bool)
            anchors = batch_ids([rows_of(text_rows, record.text) for record, _ in batch])
            candidates = batch_ids([rows_of(name_rows, n) for n in candidate_names])
            losses.append(float(step(anchors, candidates, allowed)))
        losses_per_epoch.append(round(float(np.mean(losses)), 4))
        say(f"cdn epoch {epoch + 1}/{epochs}: loss {losses_per_epoch[-1]} ({time.monotonic() - started:.0f} s)")
    return losses_per_epoch


# ---------------------------------------------------------------------- the decision
SIAMESE_GRID = {"threshold": (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9), "margin": (0.0, 0.02, 0.05, 0.1)}
SCORER_THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
SCORER_HIDDEN, SCORER_EPOCHS = 16, 30


def index_names(concepts, records: Sequence[CdnRecord]) -> tuple[list[str], list[str]]:
    """(codes, names) the normaliser chooses from: the vocabulary, then the CHIP-CDN training names
    it lacks (`肾囊肿`, `多脏器功能障碍综合征[MODS]`: annotators' names, code empty), those of two
    characters or more (a lone `O` is an annotation slip)."""
    codes, names = [c.code for c in concepts], [c.name for c in concepts]
    known = set(names)
    for record in records:
        for name in record.names:
            if name not in known and len(name) >= 2:
                known.add(name)
                codes.append("")
                names.append(name)
    return codes, names


def siamese_only(normalizer, choose_on: Sequence[CdnRecord], report_on: Sequence[CdnRecord]) -> dict:
    """The encoder alone (cosine to the standard names, no aliases, no parts, no scorer): a text's
    best name at cosine >= threshold, and the next ones within `margin` of it; threshold and margin
    chosen on `choose_on`, measured on `report_on`."""
    from itertools import product

    from etl.models.normalizer.evaluation import cdn_counts
    from etl.models.normalizer.model import top_indices

    def ranked(records):
        scores = normalizer.direct_scores([r.text for r in records])
        return [[(int(n), float(row[n])) for n in top_indices(row, 5)] for row in scores]

    def predict(tops, threshold, margin):
        return [[normalizer.names[n] for n, s in top if s >= threshold and s >= top[0][1] - margin] for top in tops]

    chosen_tops, report_tops = ranked(choose_on), ranked(report_on)
    best = max(product(SIAMESE_GRID["threshold"], SIAMESE_GRID["margin"]),
               key=lambda tm: cdn_counts(choose_on, predict(chosen_tops, *tm)).f1)
    return dict(cdn_counts(report_on, predict(report_tops, *best)).as_dict(), threshold=best[0], margin=best[1])


def fit_scorer(normalizer, records: Sequence[CdnRecord], seed: int, found=None):
    """The scorer (model.Scorer) fitted on the candidates of `records`: is the candidate gold?
    `found`: their candidates already computed (the surgery folder's cross-fitted ones)."""
    from etl.models.normalizer.model import Scorer

    found = normalizer.candidates([r.text for r in records]) if found is None else found
    x = np.concatenate([c.features for c in found])
    y = np.concatenate([[1.0 if normalizer.names[int(n)] in r.names else 0.0 for n in c.names]
                        for r, c in zip(records, found)]).astype(np.float32)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    tf.keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.layers.Input((x.shape[1],)), keras.layers.Dense(SCORER_HIDDEN, activation="relu"),
                            keras.layers.Dense(1, activation="sigmoid")])
    net.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy")
    net.fit((x - mean) / scale, y, epochs=SCORER_EPOCHS, batch_size=256, verbose=0)
    (w1, b1), (w2, b2) = net.layers[0].get_weights(), net.layers[1].get_weights()
    return Scorer(mean, scale, w1, b1, w2, b2), {"candidates": int(len(y)), "gold_candidates": int(y.sum()),
                                                 "records": len(records)}


def decide_all(normalizer, found, decision) -> list[list[str]]:
    return [[m.name for m in normalizer.decide(c, decision)] for c in found]


def fit_decision(normalizer, held_out: Sequence[CdnRecord], dev: Sequence[CdnRecord], concepts, seed: int,
                 say: Log = log.info) -> tuple[object, object, dict]:
    """(decision, scorer, figures): the scorer and its threshold fitted on `held_out` (CHIP-CDN
    training records the encoder and the aliases never saw); the three ways measured on `dev`, each
    with its own numbers chosen on `held_out`: the lexical retriever alone, the encoder alone, the
    shipped combination."""
    from dataclasses import replace

    from etl.models.normalizer.evaluation import cdn_counts, lexical_baseline

    scorer, fitted_on = fit_scorer(normalizer, held_out, seed)
    normalizer.scorer = scorer
    held_found = normalizer.candidates([r.text for r in held_out])
    threshold = max(SCORER_THRESHOLDS, key=lambda t: cdn_counts(
        held_out, decide_all(normalizer, held_found, replace(normalizer.decision, threshold=t))).f1)
    decision = replace(normalizer.decision, threshold=threshold)
    normalizer.decision = decision
    combined = cdn_counts(dev, decide_all(normalizer, normalizer.candidates([r.text for r in dev]), decision))
    siamese = siamese_only(normalizer, held_out, dev)
    lexical = lexical_baseline(held_out, dev, LexicalIndex([c.name for c in concepts]))
    say(f"CDN dev: lexical retriever alone F1 {lexical['f1']:.4f}, siamese encoder alone {siamese['f1']:.4f}, "
        f"combined (aliases, parts, scorer at {threshold}) {combined.f1:.4f}")
    return decision, scorer, {"cdn_dev": dict(combined.as_dict(), decision=vars(decision)),
                              "siamese_only": siamese, "lexical_only": lexical,
                              "decision_fitted_on": dict(fitted_on, what="CHIP-CDN train records held out "
                                                                         "from the encoder and the aliases")}


def write_decision(folder, decision, scorer, system: str | None = None) -> None:
    """labels.json (the decision and the folder's code system) and scorer.json."""
    from etl.models import folder as model_folder
    from etl.models.normalizer.model import SCORER_FILE, SYSTEM

    model_folder.write_json(folder / "labels.json", dict(vars(decision), system=system or SYSTEM))
    model_folder.write_json(folder / SCORER_FILE, scorer.as_json())


def retune_folder(settings, folder, say: Log = log.info) -> str:
    """`etl train normalizer --retune`: keep the encoder, names and aliases of `folder`; fit the
    scorer and its threshold again on the held-out records (the split of settings.json's seed),
    measure, rewrite labels.json, scorer.json, metrics.json, version.txt."""
    import shutil
    from pathlib import Path

    from etl.data.cdn import read_cdn, read_vocabulary
    from etl.errors import ConfigError
    from etl.models import folder as model_folder
    from etl.models.normalizer.model import KIND, Normalizer

    folder = Path(folder)
    record = model_folder.read_json(folder / "settings.json")
    if "surgery" in record:  # its decision is cross-fitted on the surgery rows, not CHIP-CDN's
        raise ConfigError(f"{folder} is a surgery normaliser: build it again with `etl train normalizer --surgery "
                          f"--out {folder}` (no encoder training, a few minutes)")
    trained = record["normalizer"]
    train = read_cdn(settings.data.cdn_train)
    if record.get("max_train"):
        train = train[:record["max_train"]]
    _, held_out = split_for_scorer(train, int(trained.get("scorer_records", settings.normalizer.scorer_records)),
                                   int(trained["seed"]))
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(folder, staging)
    normalizer = Normalizer.load(staging, with_scorer=False)
    decision, scorer, measured = fit_decision(normalizer, held_out, read_cdn(settings.data.cdn_dev),
                                              read_vocabulary(settings.data.icd10), int(trained["seed"]), say)
    write_decision(staging, decision, scorer, normalizer.system)
    old = model_folder.read_json(staging / "metrics.json")
    metrics = {**{k: v for k, v in old.items() if k in ("training",)}, **measured}
    version = model_folder.finish_folder(KIND, staging, record, metrics)
    model_folder.replace_folder(staging, folder)
    say(f"retuned {folder} ({version}): CDN dev F1 {measured['cdn_dev']['f1']:.4f}")
    return version


def split_for_scorer(records: Sequence[CdnRecord], count: int, seed: int) -> tuple[list, list]:
    """(records for the encoder and the aliases, `count` records held out from both for fitting the
    scorer): the scorer must see candidates as the run will, from texts the encoder never learned."""
    order = np.random.default_rng(seed).permutation(len(records))
    count = min(count, len(records) // 5)
    held = set(int(i) for i in order[:count])
    return ([r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held])


def train_normalizer(settings, out, say: Log = log.info, max_train: int | None = None) -> str:
    """Train, measure and write a normaliser folder (etl.models.normalizer.model); its version."""
    import shutil
    from pathlib import Path

    from etl.data.cdn import NAME_SEPARATOR, read_cdn, read_pairs, read_vocabulary
    from etl.errors import ConfigError
    from etl.models import folder as model_folder
    from etl.models.encoder import find_checkpoint_folder
    from etl.models.normalizer import model as normalizer_model
    from etl.models.normalizer.encoder import build_tower, encode
    from etl.models.tokens import load_tokenizer

    n, data = settings.normalizer, settings.data
    if not n.encoder_checkpoint:
        raise ConfigError("normalizer.encoder_checkpoint must name a Google-format ELECTRA folder: the siamese "
                          "tower starts from the project's pretrained encoder (models/encoders/electra-mlm)")
    source = find_checkpoint_folder(n.encoder_checkpoint)
    concepts = read_vocabulary(data.icd10)
    train, dev = read_cdn(data.cdn_train), read_cdn(data.cdn_dev)
    if max_train:
        train = train[:max_train]
    train, held_out = split_for_scorer(train, n.scorer_records, n.seed)
    pairs = read_pairs(data.pairs, "train") if n.pair_epochs else []
    if max_train:
        pairs = pairs[:max_train * 4]
    codes, names = index_names(concepts, train)
    say(f"{len(concepts)} standard names, {len(names) - len(concepts)} more from CHIP-CDN train; "
        f"{len(train)} training records, {len(dev)} dev; {len(pairs)} text pairs")

    out = Path(out)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copyfile(source.config, staging / "encoder_config.json")
    shutil.copyfile(source.vocab, staging / "vocab.txt")
    tokenizer = load_tokenizer(staging / "vocab.txt")
    tf.keras.utils.set_random_seed(n.seed)
    rng = np.random.default_rng(n.seed)
    tower = build_tower(staging / "encoder_config.json", source.checkpoint)
    names_index = LexicalIndex(names)
    started = time.monotonic()
    pair_losses = (train_pairs(tower, tokenizer, pairs, n.pair_epochs, n.pair_batch_size, n.pair_learning_rate,
                               rng, say) if pairs else [])
    cdn_losses = train_cdn(tower, tokenizer, train, names, names_index, n.cdn_epochs, n.cdn_batch_size,
                           n.hard_negatives, n.cdn_learning_rate, n.scale, rng, say)
    train_seconds = time.monotonic() - started
    model_folder.round_to_f16(tower)  # metrics describe the float16 weights that are shipped

    aliases = [r for r in train if r.names and all(name in set(names) for name in r.names)]
    name_vectors = encode(tower, tokenizer, names).astype(np.float16)
    alias_vectors = encode(tower, tokenizer, [r.text for r in aliases]).astype(np.float16)
    # The encoder's part of the folder first: `etl train normalizer --retune` can fit the decision
    # again on it (and does, if what follows stops).
    model_folder.save_weights_f16(tower, staging / "weights.h5")
    (staging / normalizer_model.NAMES_FILE).write_text(
        "".join(f"{code}\t{name}\n" for code, name in zip(codes, names)), encoding="utf-8")
    (staging / normalizer_model.ALIASES_FILE).write_text(
        "".join(f"{r.text}\t{NAME_SEPARATOR.join(r.names)}\n" for r in aliases), encoding="utf-8")
    np.save(staging / normalizer_model.NAME_VECTORS, name_vectors)
    np.save(staging / normalizer_model.ALIAS_VECTORS, alias_vectors)
    position = {name: i for i, name in enumerate(names)}
    normalizer = normalizer_model.Normalizer(tower, tokenizer, codes, names, name_vectors,
                                             [[position[x] for x in r.names] for r in aliases], alias_vectors,
                                             normalizer_model.Decision())
    decision, scorer, measured = fit_decision(normalizer, held_out, dev, concepts, n.seed, say)
    write_decision(staging, decision, scorer)
    metrics = {**measured, "training": {
        "pair_losses": pair_losses, "cdn_losses": cdn_losses, "seconds": round(train_seconds),
        "encoder_records": len(train), "held_out_records": len(held_out), "pairs": len(pairs), "names": len(names),
        "aliases": len(aliases)}}
    record = {"normalizer": {k: str(v) if isinstance(v, Path) else v for k, v in vars(n).items()
                             if k != "surgery"},  # the surgery folder records its own (surgery.py)
              "data": {k: str(getattr(data, k)) for k in ("cdn_train", "cdn_dev", "icd10", "pairs")},
              "max_train": max_train}
    version = model_folder.finish_folder(normalizer_model.KIND, staging, record, metrics)
    model_folder.replace_folder(staging, out)
    say(f"wrote {out} ({version}): CDN dev F1 {measured['cdn_dev']['f1']:.4f}")
    return version
