"""The surgery normaliser (models/normalizer-surgery): the shipped folder on held-out operation
strings and nonsense, its code system read from labels.json, its figures reproduced by `etl evaluate
normalize --surgery`, and a real (small) `etl train normalizer --surgery` build."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.cli import cli


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SURGERY, DISEASE = ROOT / "models" / "normalizer-surgery", ROOT / "models" / "normalizer"


@pytest.fixture(scope="module")
def shipped():
    from etl.models.normalizer.model import Normalizer

    return Normalizer.load(SURGERY)


def test_held_out_variants_reach_the_same_concept(shipped):
    """Operation strings the folder never saw (held-out rows of data.surgery_terms), written two ways,
    are one ICD-9-CM-3 concept each: 腹腔镜全脾切除术 even though no training row has that name."""
    from etl.data.surgery import read_surgery_terms, split_surgery

    records, _ = read_surgery_terms(ROOT / "../shared/data/cdn/surgery_terms_2500.tsv")
    train, held = split_surgery(records, 500, 28)
    cases = {"腹腔镜脾切除": ("腹腔镜全脾切除术", "41.5x01"), "腹腔镜下脾切除术。": ("腹腔镜全脾切除术", "41.5x01"),
             "右上肺楔形切除术": ("肺楔形切除术", "32.2904"), "右上肺肿物楔形切除术": ("肺楔形切除术", "32.2904")}
    assert set(cases) <= {r.text for r in held} and "腹腔镜全脾切除术" not in {r.names[0] for r in train}
    for text, matches in zip(cases, shipped.normalize(list(cases))):
        assert matches and (matches[0].name, matches[0].code) == cases[text], (text, matches)
        assert matches[0].system == "ICD-9-CM-3" and matches[0].score >= 0.5
    assert shipped.system == "ICD-9-CM-3" and shipped.version == (SURGERY / "version.txt").read_text().strip()


def test_nonsense_and_empty_text_get_nothing(shipped):
    assert shipped.normalize(["今天天气很好我们去公园", "", "xyzxyz", "高血压"]) == [[], [], [], []]


def test_the_code_system_comes_from_the_folder(tmp_path):
    """labels.json's system, not a constant: the disease folder keeps ICD-10; a folder whose
    labels.json predates the key reads as ICD-10; a blank system is an error naming the file."""
    from etl.errors import ConfigError
    from etl.models.normalizer.model import Normalizer

    assert json.loads((DISEASE / "labels.json").read_text())["system"] == "ICD-10-BJ-6.01"
    assert json.loads((SURGERY / "labels.json").read_text())["system"] == "ICD-9-CM-3"
    older = tmp_path / "older"
    shutil.copytree(DISEASE, older)
    labels = json.loads((older / "labels.json").read_text())
    del labels["system"]
    (older / "labels.json").write_text(json.dumps(labels))
    (matches,) = Normalizer.load(older).normalize(["结肠癌"])
    assert matches and {m.system for m in matches} == {"ICD-10-BJ-6.01"}
    (older / "labels.json").write_text(json.dumps(dict(labels, system=" ")))
    with pytest.raises(ConfigError, match="labels.json's system"):
        Normalizer.load(older)


def test_evaluate_reproduces_the_held_out_figures():
    """`etl evaluate normalize --surgery` measures the rows the folder held out: metrics.json's figures."""
    result = CliRunner().invoke(cli, ["evaluate", "normalize", "--surgery", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    combined = json.loads((SURGERY / "metrics.json").read_text())["held_out"]["combined"]
    assert report["records"] == 500 and report["gold"] == 500
    assert (report["f1"], report["top1"]) == (combined["f1"], combined["top1"])


def test_predict_normalize_surgery(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 1, "text": "腹腔镜胆囊切除术"}, ensure_ascii=False) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["predict", "normalize", "--surgery", "--input", str(source)])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert row["concepts"][0]["code"] == "51.2300"  # 腹腔镜下胆囊切除术


def test_a_missing_surgery_folder_is_named(tmp_path):
    from etl.config import Settings, replace
    from etl.errors import ConfigError
    from etl.normalize import targets, validate_target

    settings = replace(Settings(), normalizer__surgery__model_dir=tmp_path / "nowhere")
    surgery = [t for t in targets(settings) if t.labels == ("Surgery",)]
    with pytest.raises(ConfigError, match=r"nowhere.*normalizer.surgery.model_dir.*etl train normalizer --surgery"):
        validate_target(surgery[0])
    assert [t.labels for t in targets(replace(settings, normalizer__surgery__enabled=False))] == [("Disease",)]


def test_building_writes_a_folder_that_loads_and_measures_the_three_ways(tmp_path, shared_data):
    """A real `etl train normalizer --surgery` on 150 rows (30 held out, 2 folds, 1 epoch)."""
    rows = (shared_data / "cdn" / "surgery_terms_2500.tsv").read_text(encoding="utf-8").splitlines()[:150]
    (tmp_path / "terms.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "surgery"
    options = ["--set", f"data.surgery_terms={tmp_path / 'terms.tsv'}", "--set", "normalizer.surgery.held_out=30",
               "--set", "normalizer.surgery.folds=2", "--set", "normalizer.surgery.epochs=1"]
    result = CliRunner().invoke(cli, [*options, "train", "normalizer", "--surgery", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    held = metrics["held_out"]
    assert held["rows"] == 30 and {"lexical_only", "siamese_only", "combined", "min_score"} <= set(held)
    assert all(0 <= held[k]["top1"] <= 1 for k in ("lexical_only", "siamese_only", "combined"))
    assert metrics["decision_fitted_on"]["records"] == 120 and len(metrics["training"]["losses"]) == 1

    from etl.models.folder import validate_folder
    from etl.models.normalizer.model import Normalizer

    validate_folder(out, "normalizer")
    loaded = Normalizer.load(out)
    assert loaded.system == "ICD-9-CM-3" and loaded.version == metrics["version"]
    assert len(loaded.names) == len({r.split("\t")[2] for r in rows}) and len(loaded.alias_targets) == 120
    evaluated = CliRunner().invoke(cli, [*options, "evaluate", "normalize", "--surgery", "--model", str(out), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output)["top1"] == held["combined"]["top1"]
    retune = CliRunner().invoke(cli, ["train", "normalizer", "--retune", "--out", str(out)])
    assert retune.exit_code != 0 and "etl train normalizer --surgery" in retune.output
