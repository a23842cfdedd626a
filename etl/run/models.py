"""The run's models: loaded once (a local run, and each Ray actor), checked as their folders say,
and traced before the first document arrives so that stage times measure inference."""
from __future__ import annotations

from etl.run.stages import Models


def load_models(settings, runtime) -> Models:
    """The relation, span and (with `assertion.enabled`) assertion models, loaded and traced, and the
    schema: the local run's models and each Ray actor's (etl/run/ray_engine.py)."""
    from etl.models.folder import load_checked
    from etl.models.relation.model import RelationClassifier
    from etl.models.spans.model import SpanExtractor
    from etl.runtime import batch_size
    from etl.schema import load_schema

    relations = load_checked("relation", settings.relation.model_dir, lambda: RelationClassifier.load(
        settings.relation.model_dir, batch_size=batch_size(settings.runtime, "relation", runtime.device)))
    spans = load_checked("spans", settings.spans.model_dir, lambda: SpanExtractor.load(
        settings.spans.model_dir, batch_size=batch_size(settings.runtime, "spans", runtime.device)))
    assertions = None
    if settings.assertion.enabled:
        from etl.models.assertion.data import Mention
        from etl.models.assertion.model import AssertionClassifier

        assertions = load_checked("assertion", settings.assertion.model_dir, lambda: AssertionClassifier.load(
            settings.assertion.model_dir, batch_size=batch_size(settings.runtime, "assertion", runtime.device),
            decision=settings.assertion.decision or None))
        assertions.assess([Mention("无预热。", 1, 3)])  # trace the compiled function now, like the others
    # Trace both compiled functions now (one trace each: their signatures have dynamic shapes), so
    # the models are ready when the first documents arrive and stage times measure inference.
    relations.predict(["预热"])
    spans.answer([(spans.subject_query(spans.predicates[0]), "预热")])
    return Models(load_schema(), relations, spans, assertions)


def load_normalizers(settings) -> list[tuple]:
    """(target, loaded normaliser) of each normaliser folder (etl.normalize.targets), checked as the
    other folders."""
    from etl.models.folder import load_checked
    from etl.models.normalizer.model import Normalizer
    from etl.normalize import targets

    loaded = []
    for target in targets(settings):
        normalizer = load_checked("normalizer", target.model_dir, lambda t=target: Normalizer.load(t.model_dir))
        normalizer.normalize(["预热"])  # trace now, like the other models
        loaded.append((target, normalizer))
    return loaded
