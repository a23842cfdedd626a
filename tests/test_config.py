import re
from pathlib import Path

import pytest

from etl.config import Settings, as_dict, load_settings, replace, secret
from etl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_a_file():
    settings = load_settings(None, environ={})
    assert settings.relation.buckets == (64, 128, 256)
    assert settings.graph.sink == "falkordb"
    # relative default paths belong to the installation, not to the working directory (cron: $HOME)
    assert settings.relation.model_dir == ROOT / "models" / "relation"
    assert settings.run.reports_dir == ROOT / "var" / "reports"
    assert settings.spans.encoder_checkpoint == ROOT / "models" / "encoders" / "electra-mlm"
    assert settings.data.cmeie_labeled == ROOT.parent / "shared" / "data" / "cmeie" / "cmeie_labeled.jsonl" \
        or settings.data.cmeie_labeled == ROOT / "../shared/data/cmeie/cmeie_labeled.jsonl"


def test_config_search_order(tmp_path, monkeypatch):
    """issue 17: --config, $ETL_CONFIG, ./config.toml, then the installation's config.toml."""
    from etl.config import find_config

    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    (here / "config.toml").write_text("", encoding="utf-8")
    assert find_config("x.toml", {"ETL_CONFIG": "y.toml"}, here) == Path("x.toml")
    assert find_config(None, {"ETL_CONFIG": "y.toml"}, here) == Path("y.toml")
    assert find_config(None, {}, here) == here / "config.toml"
    assert find_config(None, {}, elsewhere) == ROOT / "config.toml"  # what cron in $HOME finds
    monkeypatch.chdir(elsewhere)
    settings = load_settings(find_config(None, {}), environ={})
    assert settings.relation.model_dir == ROOT / "models" / "relation"
    assert settings.graph.falkordb.data_dir == ROOT / "var" / "falkordb"


def test_shipped_config_file_sets_every_key():
    """config.toml documents every setting: the same keys as the dataclasses."""
    import tomllib

    def keys(tree, prefix=""):
        out = set()
        for k, v in tree.items():
            out |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return out

    with open(ROOT / "config.toml", "rb") as handle:
        assert keys(tomllib.load(handle)) == keys(as_dict(Settings()))
    settings = load_settings(ROOT / "config.toml", environ={})
    assert settings.relation.model_dir == ROOT / "models" / "relation"  # relative to the file
    # ... and the same values as the built-in defaults (paths aside: they resolve against the file)
    shipped, builtin = as_dict(settings), as_dict(Settings())

    def values(tree, prefix=""):
        out = {}
        for k, v in tree.items():
            out.update(values(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
        return out

    paths = {k for k, v in values(builtin).items() if isinstance(v, str) and "/" in v}
    assert {k: v for k, v in values(shipped).items() if k not in paths} == \
        {k: v for k, v in values(builtin).items() if k not in paths}
    assert settings.relation.encoder_checkpoint is None  # "" means not set


def test_environment_overrides_file_and_cli_overrides_environment(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[graph]\nbatch_size = 10\n[relation]\nbuckets = [32, 64]\n", encoding="utf-8")
    env = {"ETL_GRAPH_BATCH_SIZE": "20", "ETL_GRAPH_NEO4J_URI": "bolt://db:7687",
           "ETL_INPUT_METADATA_COLUMNS": "section, ward", "ETL_WINDOWS_OVERLAP_CHARS": "0"}
    settings = load_settings(path, environ=env)
    assert settings.graph.batch_size == 20
    assert settings.graph.neo4j.uri == "bolt://db:7687"
    assert settings.relation.buckets == (32, 64)
    assert settings.input.metadata_columns == ("section", "ward")
    assert settings.windows.overlap_chars == 0
    settings = load_settings(path, overrides={"graph.batch_size": "30"}, environ=env)
    assert settings.graph.batch_size == 30
    assert replace(settings, graph__sink="neo4j").graph.sink == "neo4j"


@pytest.mark.parametrize("text, message", [
    ("[graph]\nbatch_sise = 3\n", "unknown setting 'graph.batch_sise'"),
    ("[grpah]\nsink = 'neo4j'\n", "unknown setting 'grpah'"),
    ("[graph]\nbatch_size = '3'\n", "graph.batch_size must be an integer"),
    ("[relation]\nbuckets = 64\n", "relation.buckets must be a list of an integer"),
    ("[relation]\nthreshold = true\n", "relation.threshold must be a number"),
    ("[graph]\nsink = 'mysql'\n", "graph.sink must be one of"),
    ("[graph.neo4j]\npassword = 'x'\n", "secrets are not read from files"),
    ("[graph\n", "not valid TOML"),
])
def test_wrong_key_or_type_names_the_key(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_settings(path, environ={})


@pytest.mark.parametrize("key, choices", [
    ("relation.loss", ("bce", "weighted_bce", "focal")),
    ("relation.head", ("cls", "pool", "cnn_pool")),
    ("assertion.decision", ("", "model", "rules", "gated")),
    ("graph.sink", ("falkordb", "neo4j", "none")),
    ("run.engine", ("local", "ray")),
    ("runtime.device", ("auto", "cpu", "gpu")),
    ("graph.falkordb.appendfsync", ("always", "everysec", "no")),
])
def test_each_choice_setting_takes_its_declared_values_only(key, choices):
    """issue 29: the choices are declared once (Literal types, the settings' types) and checked."""
    for value in choices:
        settings = load_settings(None, overrides={key: value}, environ={})
        for part in key.split("."):
            settings = getattr(settings, part)
        assert settings == value
    message = f"{key} must be one of {sorted(choices)}, got 'other'"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(None, overrides={key: "other"}, environ={})


def test_bad_environment_values_name_the_variable():
    with pytest.raises(ConfigError, match="ETL_RELATION_BATCH_SIZE: relation.batch_size must be an integer"):
        load_settings(None, environ={"ETL_RELATION_BATCH_SIZE": "many"})
    with pytest.raises(ConfigError, match="ETL_NOPE is not a setting"):
        load_settings(None, environ={"ETL_NOPE": "1"})
    with pytest.raises(ConfigError, match="unknown setting 'relation.nope'"):
        load_settings(None, overrides={"relation.nope": "1"}, environ={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings("/nonexistent/config.toml", environ={})


@pytest.mark.parametrize("variable, value, message", [
    # issue 30: each was accepted and failed later (exit 4, a traceback) or silently misbehaved
    ("ETL_GRAPH_WRITE_SECONDS", "nan", "graph.write_seconds must be a finite number, got nan"),
    ("ETL_GRAPH_WRITE_SECONDS", "inf", "graph.write_seconds must be a finite number, got inf"),
    ("ETL_RELATION_THRESHOLD", "nan", "relation.threshold must be a finite number"),
    ("ETL_GRAPH_FALKORDB_SOCKET_TIMEOUT", "0", "graph.falkordb.socket_timeout must be a positive number of seconds"),
    ("ETL_GRAPH_FALKORDB_SOCKET_TIMEOUT", "-1", "graph.falkordb.socket_timeout must be a positive number of seconds"),
    ("ETL_GRAPH_FALKORDB_SOCKET_TIMEOUT", "nan", "graph.falkordb.socket_timeout must be a finite number"),
    ("ETL_GRAPH_NEO4J_CONNECTION_TIMEOUT", "0", "graph.neo4j.connection_timeout must be a positive number"),
    ("ETL_GRAPH_NEO4J_MAX_RETRY_TIME", "-1", "graph.neo4j.max_retry_time must be >= 0"),
    ("ETL_GRAPH_FALKORDB_URL", "notaurl", "graph.falkordb.url must be empty (the embedded server), redis://"),
    ("ETL_GRAPH_FALKORDB_URL", "redis://", "graph.falkordb.url must be empty"),
    ("ETL_GRAPH_FALKORDB_URL", "unix://", "graph.falkordb.url must be empty"),
    ("ETL_GRAPH_FALKORDB_GRAPH_NAME", "", "graph.falkordb.graph_name must be 1-64 letters"),
    ("ETL_GRAPH_FALKORDB_GRAPH_NAME", "my graph", "graph.falkordb.graph_name must be 1-64 letters"),
    # a backtick in a metadata column's name broke the Document write half way (10 nodes left)
    ("ETL_INPUT_METADATA_COLUMNS", "section,a`b", "input.metadata_columns: 'a`b' cannot be a property name"),
    ("ETL_INPUT_METADATA_COLUMNS", "section,section", "input.metadata_columns must be distinct"),
    ("ETL_INPUT_METADATA_COLUMNS", "section,text", "not the id or text column"),
    # one folder per label: two would relink each other's entities on every run
    ("ETL_NORMALIZER_SURGERY_LABELS", "Surgery,Disease",
     "normalizer.labels and normalizer.surgery.labels share ['Disease']"),
    ("ETL_NORMALIZER_SURGERY_MIN_SCORE", "1.5", "normalizer.surgery.min_score must be from 0 to 1"),
    ("ETL_NORMALIZER_SURGERY_FOLDS", "1",
     "normalizer.surgery: held_out and learning_rate must be positive, folds >= 2"),
])
def test_a_setting_out_of_its_range_names_itself(variable, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(None, environ={variable: value})


@pytest.mark.parametrize("url", ["", "redis://localhost:6379", "rediss://db.example:6380", "unix:///tmp/falkordb.sock"])
def test_the_store_urls_a_user_writes_are_taken(url):
    assert load_settings(None, environ={"ETL_GRAPH_FALKORDB_URL": url}).graph.falkordb.url == url


def test_a_bad_setting_is_exit_1_from_the_command_line():
    from click.testing import CliRunner

    from etl.cli import cli

    result = CliRunner().invoke(cli, ["db", "stats"], env={"ETL_GRAPH_WRITE_SECONDS": "nan"})
    assert result.exit_code == 1 and "graph.write_seconds must be a finite number" in result.output


def test_secrets_only_from_environment():
    assert secret("neo4j", {"NEO4J_PASSWORD": "s3cret"}) == "s3cret"
    assert secret("neo4j", {}) is None
    assert "s3cret" not in repr(load_settings(None, environ={"NEO4J_PASSWORD": "s3cret"}))


def test_the_surgery_normaliser_is_a_nested_section(tmp_path):
    """[normalizer.surgery] in TOML, ETL_NORMALIZER_SURGERY_* in the environment; relative paths as ever."""
    path = tmp_path / "c.toml"
    path.write_text('[normalizer.surgery]\nmodel_dir = "m/surgery"\nlabels = ["Surgery", "Treatment"]\n',
                    encoding="utf-8")
    settings = load_settings(path, environ={"ETL_NORMALIZER_SURGERY_MIN_SCORE": "0.7"})
    surgery = settings.normalizer.surgery
    assert (surgery.model_dir, surgery.labels, surgery.min_score) == (tmp_path / "m" / "surgery",
                                                                      ("Surgery", "Treatment"), 0.7)
    assert load_settings(None, environ={}).normalizer.surgery.model_dir == ROOT / "models" / "normalizer-surgery"
