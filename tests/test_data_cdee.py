"""CHIP-CDEE reader: every finding placed at offsets (or counted as not placeable), in list order."""
import json

import pytest

from etl.data.cdee import GAPPED, UNPLACED, VERBATIM, place_findings, placement_counts, read_cdee
from etl.errors import DataError


@pytest.mark.parametrize("name, findings", [("cdee_train.jsonl", 8761), ("cdee_dev.jsonl", 965)])
def test_every_placed_finding_is_its_name_or_holds_its_characters(shared_data, name, findings):
    samples = read_cdee(shared_data / "cdee" / name)
    counts = placement_counts(samples)
    assert counts["findings"] == findings == counts[VERBATIM] + counts[GAPPED] + counts[UNPLACED]
    for sample in samples:
        for f in sample.findings:
            if f.placement == VERBATIM:
                assert sample.text[f.start:f.end] == f.name
            elif f.placement == GAPPED:
                span = sample.text[f.start:f.end]
                assert span[0] == f.name[0] and span[-1] == f.name[-1] and len(span) > len(f.name)
                it = iter(span)
                assert all(c in it for c in f.name)  # the name's characters, in order
            else:
                assert f.start is None
    placed = [(s.id, f.start, f.end) for s in samples for f in s.findings if f.placed]
    assert len(placed) == len(set(placed))  # no place is given to two findings


def test_a_repeated_name_takes_one_occurrence_per_event_in_list_order():
    text = "患者腹部疼痛，无放射痛，休息后疼痛缓解。"
    assert [p[:2] for p in place_findings(text, ["疼痛", "疼痛"])] == [(4, 6), (15, 17)]
    # after the previous event's start, even when the name also occurs earlier
    text = "咳嗽一月，伴发热，现咳嗽加重。"
    assert [p[:2] for p in place_findings(text, ["发热", "咳嗽"])] == [(6, 8), (10, 12)]
    # more events than occurrences: the extra one is not placed on a taken occurrence
    assert place_findings("无发热。", ["发热", "发热"]) == [(1, 3, VERBATIM), (None, None, UNPLACED)]


def test_gapped_names_stay_inside_one_clause_and_close_together():
    [(start, end, how)] = place_findings("体重无明显变化。", ["体重变化"])
    assert (start, end, how) == (0, 7, GAPPED)
    assert place_findings("出现少量阴道流血。", ["出血"]) == [(None, None, UNPLACED)]  # too far apart
    assert place_findings("体重，无变化。", ["体重变化"]) == [(None, None, UNPLACED)]  # across a comma


def test_statuses_and_bad_lines(tmp_path):
    path = tmp_path / "cdee.jsonl"
    rows = [{"id": 1, "text": "无发热，考虑肺炎，咳嗽。", "event": [
        {"core_name": "发热", "tendency": "否定"}, {"core_name": "肺炎", "tendency": "不确定"},
        {"core_name": "咳嗽", "tendency": ""}]}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    [sample] = read_cdee(path)
    assert [(f.name, f.status) for f in sample.findings] == [("发热", "absent"), ("肺炎", "possible"),
                                                          ("咳嗽", "present")]
    path.write_text('{"id": 1, "text": "x", "event": [{"core_name": "x", "tendency": "maybe"}]}\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 1"):
        read_cdee(path)
    path.write_text('{"id": 1, "text": "x"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 1"):
        read_cdee(path)
