"""Option handling shared by the per-model command modules (relation_cmd, spans_cmd, assertion_cmd)."""
from __future__ import annotations

import click

from etl.config import replace


def encoder_checkpoint_choice(settings, section: str, encoder_checkpoint, from_scratch: bool):
    """Settings with `<section>.encoder_checkpoint` from --encoder-checkpoint / --from-scratch."""
    if encoder_checkpoint and from_scratch:
        raise click.UsageError("--encoder-checkpoint and --from-scratch exclude each other")
    if from_scratch:
        return replace(settings, **{f"{section}__encoder_checkpoint": ""})
    return replace(settings, **{f"{section}__encoder_checkpoint": encoder_checkpoint})
