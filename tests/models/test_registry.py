"""etl/models/registry.py: one table of the model kinds, their classes, folders and versioned files."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from etl.config import Settings
from etl.errors import ConfigError
from etl.models import registry
from etl.models.folder import folder_version, read_version
from etl.models.registry import MODELS, ModelKind, load_model, model_class, model_dir, spec, versioned_files


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {"relation": "relation", "spans": "spans", "assertion": "assertion", "normalizer": "normalizer"}


def test_importing_the_registry_the_folder_code_and_the_cli_imports_no_tensorflow():
    # folder_version runs before etl.runtime.configure, which must come before TensorFlow's import
    code = ("import sys\n"
            "import etl.cli, etl.doctor, etl.runtime\n"
            "from etl.models.registry import MODELS, versioned_files\n"
            "from etl.models.folder import folder_version\n"
            f"folder_version('relation', {str(ROOT / 'models' / 'relation')!r})\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', "
            "'bert4keras'))\n"
            "print(heavy)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_kinds_are_the_literal_and_each_names_its_setting():
    assert tuple(MODELS) == get_args(ModelKind) == ("relation", "spans", "assertion", "normalizer")
    settings = Settings()
    for kind, found in MODELS.items():
        assert found.kind == kind and found.setting == f"{kind}.model_dir" and found.build == f"etl train {kind}"
        assert model_dir(settings, kind) == getattr(settings, kind).model_dir


def test_the_versioned_files_are_the_ones_every_shipped_version_was_made_with():
    # the table moved here from etl/models/folder.py: its files and their order make every version
    assert versioned_files("relation") == ("bigrams.txt", "thresholds.json", "note_thresholds.json")
    assert versioned_files("spans") == ("lexicon.tsv", "labels.json", "knowledge.tsv")
    assert versioned_files("assertion") == ("labels.json", "context_rules.tsv")
    assert versioned_files("normalizer") == ("labels.json", "scorer.json", "names.tsv", "aliases.tsv",
                                             "name_vectors.npy", "alias_vectors.npy")
    assert versioned_files("pretrained") == ()  # not a registered kind: its weights alone, as before
    for kind, name in [*SHIPPED.items(), ("normalizer", "normalizer-surgery")]:
        assert folder_version(kind, ROOT / "models" / name) == read_version(ROOT / "models" / name)


def test_an_unknown_kind_is_a_clear_error():
    message = r"unknown model kind 'relations' \(known: relation, spans, assertion, normalizer\)"
    for call in (lambda: spec("relations"), lambda: model_class("relations"),
                 lambda: model_dir(Settings(), "relations"), lambda: load_model("relations", "models/relation")):
        with pytest.raises(ValueError, match=message):
            call()


def test_every_kind_loads_its_class_with_its_versioned_files_and_warms_up():
    from etl.models.assertion.model import RULES_FILE
    from etl.models.normalizer import model as normalizer
    from etl.models.relation.model import NOTE_THRESHOLDS_FILE, THRESHOLDS_FILE
    from etl.models.spans.knowledge import FILE as KNOWLEDGE_FILE

    # the file names each model module writes and reads are among the files its version covers
    own_files = {"relation": {THRESHOLDS_FILE, NOTE_THRESHOLDS_FILE}, "spans": {KNOWLEDGE_FILE},
                 "assertion": {RULES_FILE},
                 "normalizer": {normalizer.NAMES_FILE, normalizer.NAME_VECTORS, normalizer.SCORER_FILE,
                                normalizer.ALIASES_FILE, normalizer.ALIAS_VECTORS}}
    for kind, name in SHIPPED.items():
        cls = model_class(kind)
        assert cls.__name__ == MODELS[kind].class_path.split(":")[1]
        assert cls.VERSIONED_FILES == versioned_files(kind) and own_files[kind] <= set(cls.VERSIONED_FILES)
        folder = ROOT / "models" / name
        model = load_model(kind, folder, batch_size=8 if MODELS[kind].batched else None)
        assert type(model) is cls and model.version.startswith(read_version(folder))
    assert load_model("spans", ROOT / "models" / "spans", batch_size=8, warm_up=False).batch_size == 8


def test_options_reach_the_class_and_a_kind_without_batches_refuses_one():
    folder = ROOT / "models" / "assertion"
    own = json.loads((folder / "labels.json").read_text(encoding="utf-8"))["decision"]
    other = next(d for d in ("model", "rules", "gated") if d != own)
    assertions = load_model("assertion", folder, batch_size=4, warm_up=False, decision=other)
    assert (assertions.decision, assertions.batch_size) == (other, 4) and assertions.version.endswith("+" + other)
    assert load_model("assertion", folder, warm_up=False, decision=None).decision == own
    with pytest.raises(TypeError, match="normalizer models take no batch_size"):
        load_model("normalizer", ROOT / "models" / "normalizer", batch_size=8)


def test_warm_up_traces_before_the_first_call(monkeypatch):
    calls = []
    folder = ROOT / "models" / "relation"
    cls = model_class("relation")
    monkeypatch.setattr(cls, "warm_up", lambda self: calls.append(self.version))
    load_model("relation", folder, warm_up=False)
    assert calls == []
    load_model("relation", folder)
    assert calls == [read_version(folder)]


def test_a_folder_that_does_not_load_is_the_folders_problem(tmp_path):
    folder = tmp_path / "relation"
    shutil.copytree(ROOT / "models" / "relation", folder)
    config = json.loads((folder / "encoder_config.json").read_text(encoding="utf-8"))
    config["hidden_size"] *= 2  # weights.h5 no longer fits the layers
    (folder / "encoder_config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"relation model folder .*: cannot be loaded .*retrain with "
                                          r"`etl train relation`"):
        load_model("relation", folder)


def test_runtime_batch_sizes_cover_the_batched_kinds():
    from etl.config import RuntimeBatchSizes
    from etl.runtime import MODELS as BATCHED

    assert BATCHED == ("relation", "spans", "assertion")
    assert {f"{kind}_{device}" for kind in BATCHED for device in ("cpu", "gpu")} == set(vars(RuntimeBatchSizes()))
    assert registry.MODELS["normalizer"].batched is False
