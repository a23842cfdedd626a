"""The diagnosis normaliser: the shipped model on known variants, lists and nonsense; `etl predict
normalize` / `etl evaluate normalize` as other tools call them; a real (tiny) training run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.cli import cli


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "normalizer"


@pytest.fixture(scope="module")
def shipped():
    from etl.models.normalizer.model import Normalizer

    return Normalizer.load(SHIPPED)


def names(found) -> list[str]:
    return [m.name for m in found]


def test_known_variants_reach_the_same_concept(shipped):
    """Written four ways in the notes, a colon cancer is one concept (乙状结肠 is a part of the
    colon: its name may come first, the colon's beside it, both under C18)."""
    found = shipped.normalize(["结肠恶性肿瘤", "结肠癌", "乙状结肠腺癌", "升结肠腺癌"])
    assert names(found[0])[0] == "结肠恶性肿瘤" and found[0][0].code.startswith("C18")
    for other in found[1:]:
        assert {m.code[:3] for m in other} & {"C18"}, other
    assert "结肠恶性肿瘤" in names(found[1])


def test_a_string_with_two_diagnoses_gets_two(shipped):
    found = shipped.normalize(["高血压;2型糖尿病", "冠心病，高血压"])
    assert {"高血压", "2型糖尿病"} <= set(names(found[0]))
    assert {"高血压"} <= set(names(found[1])) and len(found[1]) >= 2


def test_nonsense_and_empty_text_get_nothing(shipped):
    assert shipped.normalize(["今天天气很好我们去公园", "", "   ", "xyzxyz"]) == [[], [], [], []]


def test_scores_are_best_first_and_codes_from_the_vocabulary(shipped):
    (found,) = shipped.normalize(["右肺上叶腺癌伴骨转移"])
    assert found and [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert all(m.system == "ICD-10-BJ-6.01" and m.code for m in found)
    assert shipped.version == (SHIPPED / "version.txt").read_text().strip()


def test_predict_normalize_keeps_its_interface(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 7, "text": "结肠癌", "extra": [1]}, ensure_ascii=False) + "\n\n" +
                      json.dumps({"id": "b", "text": "今天天气很好我们去公园"}, ensure_ascii=False) + "\n",
                      encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["predict", "normalize", "--input", str(source), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["text"], r.get("extra")) for r in rows] == [(7, "结肠癌", [1]),
                                                                     ("b", "今天天气很好我们去公园", None)]
    assert rows[1]["concepts"] == [] and rows[0]["concepts"][0].keys() == {"code", "name", "score"}
    assert "2 lines, 1 with a concept" in result.output


@pytest.mark.parametrize("line, message", [
    ("{not json", 'in.jsonl:2: not an {"id", "text"} line (Expecting'),
    ('{"id": 1}', 'in.jsonl:2: not an {"id", "text"} line (expected a JSON object with a "text" string)'),
    ('["结肠癌"]', 'in.jsonl:2: not an {"id", "text"} line (expected a JSON object with a "text" string)'),
    ('{"text": "结肠癌"}', 'in.jsonl:2: not an {"id", "text"} line (expected an "id")'),
])
def test_a_malformed_predict_line_is_an_error_naming_it(tmp_path, line, message):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "高血压"}\n' + line + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["predict", "normalize", "--input", str(source), "--output", str(out)])
    assert result.exit_code == 1 and message in result.output and not out.exists()


def test_evaluate_normalize_scores_pairs_as_cblue_does(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "结肠恶性肿瘤", "normalized_result": "结肠恶性肿瘤"},
        {"text": "高血压;2型糖尿病", "normalized_result": "高血压##2型糖尿病"},
        {"text": "今天天气很好我们去公园", "normalized_result": "头痛"}]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", "normalize", "--gold", str(gold), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["gold"] == 4 and report["correct"] >= 3 and report["records"] == 3
    assert report["recall"] == round(report["correct"] / 4, 4) and report["model"].startswith("normalizer-")


def test_training_writes_a_folder_that_loads_and_measures_the_three_ways(tmp_path, shared_data):
    """A real run of `etl train normalizer` on a slice: 40 records, a vocabulary of their names and
    300 others, one epoch on CHIP-CDN (the pairs stage too, on 160 pairs)."""
    from etl.data.cdn import read_cdn, read_vocabulary

    cdn = shared_data / "cdn"
    train = read_cdn(cdn / "chip_cdn_train.jsonl")[:40]
    dev = read_cdn(cdn / "chip_cdn_dev.jsonl")[:20]
    wanted = {n for r in train + dev for n in r.names}
    vocabulary = read_vocabulary(cdn / "icd10_beijing_clinical_v601.tsv")
    kept = [c for c in vocabulary if c.name in wanted] + vocabulary[:300]
    (tmp_path / "icd.tsv").write_text("".join(f"{c.code}\t{c.name}\n" for c in kept), encoding="utf-8")
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps({"text": r.text, "normalized_result": "##".join(r.names)},
                                                           ensure_ascii=False) + "\n" for r in dev), encoding="utf-8")
    out = tmp_path / "normalizer"
    result = CliRunner().invoke(cli, [
        "--set", f"data.icd10={tmp_path / 'icd.tsv'}", "--set", f"data.cdn_dev={tmp_path / 'dev.jsonl'}",
        "train", "normalizer", "--out", str(out), "--max-train", "40", "--pair-epochs", "1", "--cdn-epochs", "1"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"cdn_dev", "siamese_only", "lexical_only", "decision_fitted_on"} <= set(metrics)
    assert metrics["training"]["pairs"] == 160 and metrics["training"]["held_out_records"] == 8
    assert metrics["decision_fitted_on"]["records"] == 8  # a fifth of 40 at most: never the encoder's
    assert metrics["version"] == (out / "version.txt").read_text().strip()

    from etl.models.folder import folder_version, validate_folder
    from etl.models.normalizer.model import Normalizer

    validate_folder(out, "normalizer")
    assert folder_version("normalizer", out) == metrics["version"]
    loaded = Normalizer.load(out)
    assert len(loaded.names) == len(loaded.name_vectors) and loaded.version == metrics["version"]
    assert all(isinstance(found, list) for found in loaded.normalize([r.text for r in dev]))
    labels = json.loads((out / "labels.json").read_text())
    (out / "labels.json").write_text(json.dumps(dict(labels, threshold=0.5)))
    with pytest.raises(Exception, match="labels.json"):
        validate_folder(out, "normalizer")  # a hand-edited decision is not the measured one

    retuned = CliRunner().invoke(cli, ["--set", f"data.icd10={tmp_path / 'icd.tsv'}", "--set",
                                       f"data.cdn_dev={tmp_path / 'dev.jsonl'}", "train", "normalizer", "--retune",
                                       "--out", str(out)])
    assert retuned.exit_code == 0, retuned.output
    validate_folder(out, "normalizer")  # the decision fitted again, the version written again
    from etl.models.normalizer.training import SCORER_THRESHOLDS

    assert json.loads((out / "labels.json").read_text())["threshold"] in SCORER_THRESHOLDS
    assert json.loads((out / "metrics.json").read_text())["training"] == metrics["training"]
