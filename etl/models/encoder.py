"""One factory for the encoders: bert4keras ALBERT / ELECTRA, from a Google-format checkpoint
folder when the user has one (albert_base_zh, chinese ELECTRA), else from a config alone.

A Google-format folder holds a config JSON (`albert_config*.json`, `bert_config*.json`,
`electra_config*.json` or `config.json`), a TF1 checkpoint (`model.ckpt*.index` + data) and
`vocab.txt`; `export_checkpoint_folder` writes exactly that layout, so what we save loads with
`build_transformer_model(config, checkpoint, model=...)` unchanged, and a real released checkpoint
loads through the same path.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Sequence, get_args

from etl.errors import ConfigError

EncoderType = Literal["albert", "electra"]  # bert4keras model names (`etl pretrain mlm --model`)
MODEL_TYPES = get_args(EncoderType)


@dataclass(frozen=True)
class CheckpointFolder:
    config: Path
    checkpoint: Path | None  # prefix, e.g. dir/model.ckpt (None: config only)
    vocab: Path


def find_checkpoint_folder(folder: str | Path) -> CheckpointFolder:
    """Locate config, checkpoint prefix and vocab in a Google-format folder (clear error if not)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"encoder checkpoint folder not found: {folder}")
    configs = sorted(p for p in folder.glob("*.json") if "config" in p.name)
    indexes = sorted(folder.glob("*.ckpt*.index"))
    vocab = folder / "vocab.txt"
    problems = []
    if len(configs) != 1:
        problems.append(f"expected one *config*.json, found {[p.name for p in configs] or 'none'}")
    if len(indexes) > 1:
        problems.append(f"several checkpoints: {[p.name for p in indexes]}")
    if not indexes:
        problems.append("no *.ckpt*.index checkpoint")
    if not vocab.is_file():
        problems.append("no vocab.txt")
    if problems:
        raise ConfigError(f"{folder} is not a Google-format checkpoint folder: " + "; ".join(problems))
    return CheckpointFolder(configs[0], indexes[0].with_suffix(""), vocab)


def scratch_config(encoder_settings, vocab_size: int) -> dict:
    """bert4keras/Google config dict for a from-scratch encoder (settings: EncoderSettings)."""
    config = asdict(encoder_settings)
    config.update(vocab_size=vocab_size, hidden_act="gelu", type_vocab_size=2, initializer_range=0.02)
    return config


def build_encoder(model_type: str, config_path: str | Path, checkpoint: str | Path | None = None,
                  token_features: int = 0, **kwargs):
    """The bert4keras Transformer object (`.model` is the Keras model) for ALBERT or ELECTRA.

    `token_features` > 0 adds a third input, [batch, length, token_features] floats per token
    (e.g. lexicon flags), projected and added to the embeddings (`with_token_features`).
    """
    if model_type not in MODEL_TYPES:
        raise ConfigError(f"encoder type must be one of {MODEL_TYPES}, got {model_type!r}")
    import etl.compat  # noqa: F401
    from bert4keras.models import build_transformer_model

    model = with_token_features(model_type, token_features) if token_features else model_type
    return build_transformer_model(
        config_path=str(config_path),
        checkpoint_path=str(checkpoint) if checkpoint else None,
        model=model,
        return_keras_model=False,
        **kwargs,
    )


def with_token_features(model_type: str, features: int):
    """A bert4keras model class whose embeddings also take per-token features.

    The features go through a zero-initialised Dense(hidden) and are added to the embedding
    output (after bert4keras' embedding norm and mapping), so a pretrained checkpoint starts out
    computing exactly what it computed without them; the layer is not in the checkpoint mapping,
    so Google-format loading is unchanged.
    """
    from bert4keras.layers import Add, Dense, Input
    from bert4keras.models import ALBERT, ELECTRA

    base = {"albert": ALBERT, "electra": ELECTRA}[model_type]

    class WithTokenFeatures(base):
        def get_inputs(self):
            return super().get_inputs() + [self.apply(layer=Input, shape=(self.sequence_length, features),
                                                      name="Input-Token-Features")]

        def apply_embeddings(self, inputs):
            x = super().apply_embeddings(inputs[:-1])
            f = self.apply(inputs=inputs[-1], layer=Dense, units=self.hidden_size, use_bias=False,
                           kernel_initializer="zeros", name="Embedding-Token-Features")
            return self.apply(inputs=[x, f], layer=Add, name="Embedding-Add-Token-Features")

    return WithTokenFeatures


def export_checkpoint_folder(encoder, folder: str | Path, config: dict, vocab: str | Path,
                             config_name: str = "bert_config.json") -> CheckpointFolder:
    """Write encoder weights as a Google-format checkpoint folder (config, model.ckpt, vocab.txt)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / config_name).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    if Path(vocab).resolve() != (folder / "vocab.txt").resolve():
        shutil.copyfile(vocab, folder / "vocab.txt")
    encoder.save_weights_as_checkpoint(str(folder / "model.ckpt"))
    return find_checkpoint_folder(folder)


def stage_encoder(section: str, model_settings, vocab: str | Path, texts: Sequence[str],
                  staging: Path) -> Path | None:
    """Write `encoder_config.json` + `vocab.txt` of a new model folder into `staging`; return the
    checkpoint prefix to initialise from (None: random weights).

    `model_settings` is `settings.relation` or `settings.spans` (named `section` in errors): from
    its `encoder_checkpoint` folder when set (config and full vocab copied as they are), else a
    from-scratch config of its `encoder` shape over `vocab`, trimmed to `texts` if `trim_vocab`.
    """
    from etl.models.folder import write_json
    from etl.models.tokens import trim_vocab

    if model_settings.encoder_checkpoint:
        source = find_checkpoint_folder(model_settings.encoder_checkpoint)
        config = json.loads(source.config.read_text(encoding="utf-8"))
        shutil.copyfile(source.vocab, staging / "vocab.txt")
        checkpoint = source.checkpoint
    else:
        if not Path(vocab).is_file():
            raise ConfigError(f"data.vocab not found: {vocab}")
        if model_settings.trim_vocab:
            size = len(trim_vocab(vocab, texts, staging / "vocab.txt"))
        else:
            shutil.copyfile(vocab, staging / "vocab.txt")
            size = len((staging / "vocab.txt").read_text(encoding="utf-8").splitlines())
        config = scratch_config(model_settings.encoder, size)
        checkpoint = None
    max_position = config.get("max_position_embeddings", 512)
    if model_settings.buckets[-1] > max_position:
        raise ConfigError(f"{section}.buckets: {model_settings.buckets[-1]} exceeds the encoder's "
                          f"{max_position} positions")
    write_json(staging / "encoder_config.json", config)
    return checkpoint
