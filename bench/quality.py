"""Extraction quality in one go: CMeIE dev and EMR-RE dev, end to end, with the configured models.

    .venv/bin/python bench/quality.py [--config config.toml] [--json out.json] [--cmeie-only | --notes-only]
                                      [--limit N]

- CMeIE dev (the project's 500-text split of data.cmeie_labeled), two ways:
  `cmeie_models`: what MODELS.md has always reported: the relation classifier's predicates of each
  whole text, then the span model's two turns (`etl evaluate --spans-model ... --relation-model
  ...`), strict micro-F1 as the CMeIE benchmark scores it (lower-cased, 《》 stripped);
  `cmeie_run_path`: the texts through `etl run`'s own path (windows, main condition, relations,
  spans, merge, assertion: etl/run/stages.py `extract`), the asserted triples scored as the notes are.
- EMR-RE dev (data.emr_re_dev): the notes through the same run path, scored as ANNOTATION.md
  says (`etl evaluate notes`): strict and lenient micro P/R/F1, the share of notes with no
  asserted triple, and the main condition found against the annotation's.
`--limit N` scores only the first N texts of each set (a quick look, or a tiny run: not the figures
MODELS.md reports).
"""
from __future__ import annotations

from common import emit, parser, settings as load_settings
from synthetic import cmeie_notes


def cmeie_models(s, limit: int = 0) -> dict:
    from etl.data.split import load_split
    from etl.models.spans.evaluation import end_to_end, predicted_relations
    from etl.models.spans.model import SpanExtractor

    dev = first(load_split(s)[1], limit)
    relations = predicted_relations(s.relation.model_dir, [x.text for x in dev])
    report, _ = end_to_end(SpanExtractor.load(s.spans.model_dir), dev, relations)
    return {"texts": len(dev), "strict": report.micro.as_dict()}


def first(items: list, limit: int) -> list:
    return items[:limit] if limit > 0 else items


def run_path(run, notes) -> tuple[dict, dict]:
    from etl.evaluate_notes import asserted_keys, extract_notes, score_notes

    found = extract_notes(run, notes)
    scores = score_notes(notes, {i: asserted_keys(e) for i, e in found.items()})
    return scores.as_dict(), found


def main_conditions(run, notes) -> dict:
    """The main condition the run's conditions stage gives each note (etl/run/stages.py, as `etl run`
    runs it) against the annotation's (the subject of most triples)."""
    from etl.evaluate_notes import note_documents
    from etl.run import stages

    items, _ = stages.prepare(run.models, run.options, note_documents(notes))
    items, _ = stages.conditions(run.models, items)
    found = {item.source.doc_id: item.condition.name for item in items if item.condition is not None}
    gold = {n.id: n.main_condition() for n in notes if n.main_condition()}
    return {"notes": len(notes), "annotated": len(gold), "found": len(found),
            "equal_to_annotation": sum(found.get(i) == name for i, name in gold.items())}


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__, rows=False)
    p.add_argument("--cmeie-only", action="store_true")
    p.add_argument("--notes-only", action="store_true")
    p.add_argument("--limit", type=int, default=0, help="only the first N texts of each set (0: all)")
    args = p.parse_args(argv)
    s = load_settings(args.config)
    from etl.data.cmeie import Sample
    from etl.data.emr_re import read_notes
    from etl.data.split import load_split
    from etl.evaluate_notes import notes_run

    figures: dict = {}
    run = notes_run(s)
    figures["models"] = dict(run.models.versions)
    if not args.notes_only:
        figures["cmeie_models"] = cmeie_models(s, args.limit)
        dev: list[Sample] = first(load_split(s)[1], args.limit)
        scores, _ = run_path(run, cmeie_notes(dev))
        figures["cmeie_run_path"] = {k: scores[k] for k in ("strict", "lenient", "notes", "notes_without_triples")}
    if not args.cmeie_only:
        notes = first(list(read_notes(s.data.emr_re_dev)), args.limit)
        scores, _ = run_path(run, notes)
        figures["emr_re_dev"] = {k: scores[k] for k in ("strict", "lenient", "notes", "notes_without_triples",
                                                        "gold_possible_left_out")}
        figures["emr_re_dev"]["main_condition"] = main_conditions(run, notes)
        figures["emr_re_dev"]["per_predicate_strict_f1"] = {
            p: c["f1"] for p, c in scores["per_predicate"]["strict"].items() if c["gold"] >= 10}
    emit(figures, args.json_out)


if __name__ == "__main__":
    main()
