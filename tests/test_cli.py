import json
from pathlib import Path

from click.testing import CliRunner

from etl.cli import cli

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_help_describes_the_tool_and_exit_codes():
    result = run("--help")
    assert result.exit_code == 0
    assert "knowledge graph" in result.output and "Exit codes" in result.output
    assert "quarantined" in result.output
    for command in cli.commands:
        sub = run(command, "--help")
        assert sub.exit_code == 0, command
        assert "Usage: " in sub.output


def test_choice_options_offer_the_declared_choices():
    """issue 29: the CLI's choice lists are the settings' Literal types (etl run's --sink and --engine
    use SinkKind and Engine)."""
    from typing import get_args

    from etl.config import AssertionDecision, Engine, RelationHead, RelationLoss, SinkKind, StoreKind
    from etl.models.encoder import MODEL_TYPES, EncoderType

    def choices(command, name):
        return tuple(next(p for p in command.params if p.name == name).type.choices)

    train, predict, evaluate = cli.commands["train"], cli.commands["predict"], cli.commands["evaluate"]
    assert choices(train.commands["relation"], "loss") == get_args(RelationLoss) == ("bce", "weighted_bce", "focal")
    assert choices(train.commands["relation"], "head") == get_args(RelationHead) == ("cls", "pool", "cnn_pool")
    for command in (train.commands["assertion"], predict.commands["assertions"], evaluate.commands["assertions"]):
        assert choices(command, "decision") == get_args(AssertionDecision) == ("model", "rules", "gated")
    assert choices(cli.commands["db"].commands["init"], "kind") == get_args(StoreKind) == ("falkordb", "neo4j")
    assert get_args(SinkKind) == ("falkordb", "neo4j", "none") and get_args(Engine) == ("local", "ray")
    assert choices(cli.commands["pretrain"].commands["mlm"], "model_type") == get_args(EncoderType) == MODEL_TYPES


def test_evaluate_table_and_json():
    gold, pred = str(FIXTURES / "eval_gold.jsonl"), str(FIXTURES / "eval_pred.jsonl")
    table = run("evaluate", "--gold", gold, "--pred", pred)
    assert table.exit_code == 0 and "micro" in table.output
    figures = json.loads(run("evaluate", "--gold", gold, "--pred", pred, "--json").output)
    assert figures["micro"]["correct"] == 3 and figures["micro"]["predicted"] == 4
    assert figures["micro"]["gold"] == 5 and figures["micro"]["f1"] == round(2 * 0.75 * 0.6 / 1.35, 4)


def test_usage_and_config_errors_exit_1(tmp_path):
    assert run("evaluate").exit_code == 1  # missing required options
    assert run("no-such-command").exit_code == 1
    assert run("--set", "graph.batch_size=x", "config").exit_code == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    result = run("evaluate", "--gold", str(bad), "--pred", str(bad))
    assert result.exit_code == 1 and "bad.jsonl:1" in result.output


def test_config_shows_effective_settings_with_overrides(tmp_path):
    result = run("--set", "graph.batch_size=123", "config", env={"ETL_GRAPH_SINK": "neo4j", "ETL_CONFIG": ""})
    assert result.exit_code == 0
    settings = json.loads(result.stdout)
    assert settings["graph"]["batch_size"] == 123 and settings["graph"]["sink"] == "neo4j"


def test_schema_command_lists_whitelist():
    result = run("schema", "--json")
    data = json.loads(result.output)
    assert len(data["predicates"]) == 44 and len(data["triples"]) == 53


def test_from_scratch_overrides_a_configured_encoder_checkpoint(tmp_path):
    from etl.cli.options import encoder_checkpoint_choice
    from etl.config import Settings, replace

    configured = replace(Settings(), spans__encoder_checkpoint=tmp_path, relation__encoder_checkpoint=tmp_path)
    assert not encoder_checkpoint_choice(configured, "spans", None, True).spans.encoder_checkpoint
    assert encoder_checkpoint_choice(configured, "spans", None, False).spans.encoder_checkpoint == tmp_path
    other = tmp_path / "other"
    assert encoder_checkpoint_choice(configured, "relation", other, False).relation.encoder_checkpoint == other
    for command in ("relation", "spans"):
        both = run("train", command, "--encoder-checkpoint", str(tmp_path), "--from-scratch")
        assert both.exit_code == 1 and "exclude each other" in both.output
