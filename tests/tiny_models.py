"""Tiny model folders (hidden 32, 2 layers) for tests that need `etl` to load real models
(doctor, nightly): written by the training code's own functions, in a few seconds."""
from __future__ import annotations

from pathlib import Path

from etl.config import EncoderSettings, Settings, replace

TINY_ENCODER = EncoderSettings(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, embedding_size=32, max_position_embeddings=64)


def relation_folder(folder: Path, vocab_path: Path, texts: list[str], schema) -> None:
    """An untrained relation folder written by the training code's own save function."""
    from etl.models.encoder import scratch_config
    from etl.models.folder import write_json
    from etl.models.relation.model import build_relation_model, save_relation_folder
    from etl.models.tokens import trim_vocab

    folder.mkdir(parents=True)
    size = len(trim_vocab(vocab_path, texts, folder / "vocab.txt"))
    write_json(folder / "encoder_config.json", scratch_config(TINY_ENCODER, size))
    labels = schema.predicate_names
    model, _ = build_relation_model(folder / "encoder_config.json", None, "cls", len(labels))
    save_relation_folder(folder, model, labels, "cls", (32, 64), 8, [0.5] * len(labels), {}, {})


def spans_folder(folder: Path, vocab_path: Path, samples) -> None:
    """A span folder from one short epoch of the real training function."""
    from etl.models.spans.training import train_spans

    tiny = {f"spans__encoder__{k}": v for k, v in vars(TINY_ENCODER).items()}
    settings = replace(Settings(), data__vocab=vocab_path, spans__encoder_checkpoint="", spans__buckets=(32, 64),
                       spans__batch_size=8, spans__epochs=1, spans__negatives_per_text=0.0,
                       spans__with_cmeee=False, spans__notes=False, **tiny)
    train_spans(settings, folder, log=lambda line: None, train_samples=samples[:4], dev_samples=samples[4:6])
