import pytest

from etl.data.cmeee import CMEEE_TYPES, NerStats, read_cmeee
from etl.errors import DataError


@pytest.mark.parametrize("name", ["cmeee_train.txt", "cmeee_dev.txt"])
def test_every_entity_slices_its_text(shared_data, name):
    stats = NerStats()
    samples = list(read_cmeee(shared_data / "cmeee" / name, stats))
    assert stats.samples == len(samples) == {"cmeee_train.txt": 15000, "cmeee_dev.txt": 5000}[name]
    for sample in samples:
        for entity in sample.entities:
            assert sample.text[entity.start:entity.end] == entity.text and entity.text
            assert entity.type in CMEEE_TYPES
    # The two empty annotations in the train file are reported, not silently dropped.
    expected_problems = 2 if name == "cmeee_train.txt" else 0
    assert len(stats.problems) == expected_problems
    assert stats.entities + len(stats.problems) == sum(
        line.count("|||") - 1 for line in open(shared_data / "cmeee" / name, encoding="utf-8") if line.strip())


def test_end_is_inclusive_in_the_file(tmp_path):
    path = tmp_path / "ner.txt"
    path.write_text("患者发热三天|||2    3    sym|||\r\n", encoding="utf-8")
    [sample] = read_cmeee(path)
    assert sample.entities[0].text == "发热" and (sample.entities[0].start, sample.entities[0].end) == (2, 4)


def test_malformed_annotation_is_an_error(tmp_path):
    path = tmp_path / "ner.txt"
    path.write_text("患者发热|||2    x    sym|||\n", encoding="utf-8")
    with pytest.raises(DataError, match="ner.txt:1"):
        list(read_cmeee(path))
