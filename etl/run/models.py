"""The run's models: loaded once (a local run, and each Ray actor), checked as their folders say,
and traced before the first document arrives so that stage times measure inference."""
from __future__ import annotations

from etl.run.stages import Models


def load_models(settings, runtime) -> Models:
    """The relation, span and (with `assertion.enabled`) assertion models, loaded and traced
    (etl/models/registry.py), and the schema: the local run's models and each Ray actor's
    (etl/run/ray_engine.py)."""
    from etl.models.registry import load_model, model_dir
    from etl.runtime import batch_size
    from etl.schema import load_schema

    def load(kind: str, **options):
        return load_model(kind, model_dir(settings, kind),
                          batch_size=batch_size(settings.runtime, kind, runtime.device), **options)

    relations, spans = load("relation"), load("spans")
    assertions = (load("assertion", decision=settings.assertion.decision or None)
                  if settings.assertion.enabled else None)
    return Models(load_schema(), relations, spans, assertions)


def load_normalizers(settings) -> list[tuple]:
    """(target, loaded and traced normaliser) of each normaliser folder (etl.normalize.targets)."""
    from etl.models.registry import load_model
    from etl.normalize import targets

    return [(target, load_model("normalizer", target.model_dir)) for target in targets(settings)]
