"""etl/models/spans/knowledge.py: which diseases the training triples give a finding to."""
from __future__ import annotations

import pytest

from etl.errors import DataError
from etl.models.spans.knowledge import FindingKnowledge, similarity

TRIPLES = [("肺部感染", "临床表现", "咳痰"), ("肺炎", "临床表现", "咳痰"), ("冠心病", "临床表现", "心累"),
           ("胃炎", "临床表现", "反酸"), ("胃炎", "临床表现", "反酸"), ("胃炎", "药物治疗", "奥美拉唑"),
           ("冠心病", "临床表现", "胸痛"), ("冠心病", "临床表现", "胸痛"), ("冠心病", "临床表现", "胸痛"),
           ("冠心病", "临床表现", "胸痛"), ("冠心病", "临床表现", "胸痛")]


def test_a_finding_scores_highest_for_the_disease_the_triples_give_it_to():
    knowledge = FindingKnowledge.build(TRIPLES)
    assert knowledge.score("肺部感染", "临床表现", "咳痰") > knowledge.score("冠心病", "临床表现", "咳痰") == 0
    assert knowledge.score("冠心病", "临床表现", "心累") > knowledge.score("胃炎", "临床表现", "心累")
    # a similar name shares the knowledge (肺感染 ~ 肺部感染), the predicate must be the same
    assert knowledge.score("肺感染", "临床表现", "咳痰") > 0
    assert knowledge.score("胃炎", "临床表现", "奥美拉唑") == 0 < knowledge.score("胃炎", "药物治疗", "奥美拉唑")


def test_an_object_held_in_a_known_one_or_holding_it_counts_half_and_counts_are_capped():
    knowledge = FindingKnowledge.build(TRIPLES)
    assert knowledge.score("胃炎", "临床表现", "反酸明显") == pytest.approx(
        0.5 * knowledge.score("胃炎", "临床表现", "反酸"))
    assert knowledge.score("胃炎", "临床表现", "反酸") == 2  # two triples, similarity 1
    assert knowledge.score("冠心病", "临床表现", "胸痛") == 3  # five triples say no more than three
    assert knowledge.score("胃炎", "临床表现", "酸") == 0  # one character holds nothing


def test_similarity_is_the_jaccard_of_characters_and_bigrams():
    assert similarity("胃炎", "胃炎") == 1
    assert similarity("胃炎", "肺癌") == 0
    assert 0 < similarity("慢支炎急性发作", "慢性支气管炎急性发作") < 1


def test_saved_and_loaded_it_scores_the_same(tmp_path):
    knowledge = FindingKnowledge.build(TRIPLES + [("  ", "临床表现", "发热"), ("胃炎", "临床表现", "")])
    knowledge.save(tmp_path / "knowledge.tsv")
    loaded = FindingKnowledge.load(tmp_path / "knowledge.tsv")
    assert loaded.counts == knowledge.counts and len(loaded) == len(knowledge) == 6  # blank names left out
    assert loaded.score("肺部感染", "临床表现", "咳痰") == knowledge.score("肺部感染", "临床表现", "咳痰")


@pytest.mark.parametrize("content, where", [
    ("咳痰\t肺炎\n", "not a knowledge file"),
    ("#subject\tpredicate\tobject\tcount\n肺炎\t临床表现\t咳痰\n", ":2: bad knowledge line"),
    ("#subject\tpredicate\tobject\tcount\n肺炎\t临床表现\t咳痰\tmany\n", ":2: bad knowledge line"),
])
def test_a_bad_file_is_an_error_naming_it_and_its_line(tmp_path, content, where):
    path = tmp_path / "knowledge.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=where):
        FindingKnowledge.load(path)


def test_a_known_subject_inside_the_candidates_name_counts_whole():
    knowledge = FindingKnowledge.build([("高血压病", "药物治疗", "非洛地平")] * 2
                                       + [("胃炎", "药物治疗", "奥美拉唑")] * 2)
    assert knowledge.score("高血压病3级极高危组", "药物治疗", "非洛地平") == 2  # holds 高血压病
    # two characters
    assert knowledge.score("慢性胃炎", "药物治疗", "奥美拉唑") == 2 * similarity("慢性胃炎", "胃炎") < 2


def test_the_scoring_code_is_part_of_the_span_models_run_time_version():
    from etl.models.folder import module_source, source_fingerprint
    from etl.models.spans.model import CONDITION_MODULES

    code = module_source("etl.models.spans.knowledge")
    changed = code.replace(b"COUNT_CAP = 3", b"COUNT_CAP = 4")
    assert changed != code
    assert source_fingerprint(CONDITION_MODULES, lambda name: changed if name == "etl.models.spans.knowledge"
                              else module_source(name)) != source_fingerprint(CONDITION_MODULES)


def test_odd_names_are_cleaned_or_left_out_and_a_line_written_twice_adds_up(tmp_path):
    knowledge = FindingKnowledge.build([("\ufeff胃炎", "临床表现", "反酸"), ("胃\n炎", "临床表现", "反酸")])
    assert knowledge.counts == {("临床表现", "反酸"): {"胃炎": 1}}  # a BOM stripped, a line break left out
    path = tmp_path / "knowledge.tsv"
    path.write_text("#subject\tpredicate\tobject\tcount\n"
                    "胃炎\t临床表现\t反酸\t2\n胃炎\t临床表现\t反酸\t1\n", encoding="utf-8")
    assert FindingKnowledge.load(path).counts == {("临床表现", "反酸"): {"胃炎": 3}}
    path.write_text("#subject\tpredicate\tobject\tcount\n胃炎\t临床表现\t反酸\t²\n", encoding="utf-8")
    with pytest.raises(DataError, match=":2: bad knowledge line"):
        FindingKnowledge.load(path)


def test_a_bad_knowledge_file_is_named_by_the_folder_check(tmp_path):
    import shutil

    from etl.errors import ConfigError
    from etl.models.folder import validate_folder

    folder = tmp_path / "spans"
    shutil.copytree("models/spans", folder)
    (folder / "knowledge.tsv").write_text("not a knowledge file\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="knowledge.tsv is not a knowledge file"):
        validate_folder(folder, "spans", check_version=False)
