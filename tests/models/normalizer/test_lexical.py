"""The lexical retriever: character n-grams into BM25 (bm25s), and where a string lists several diagnoses."""
from etl.models.normalizer.lexical import LexicalIndex, grams, parts


def test_grams_are_characters_and_bigrams_lower_cased():
    assert grams("IgA肾病") == ["i", "g", "a", "肾", "病", "ig", "ga", "a肾", "肾病"]
    assert grams("") == []


def test_parts_split_lists_of_diagnoses_only():
    assert parts("头痛.头晕.高血压") == ["头痛", "头晕", "高血压"]
    assert parts("糖尿病反复低血糖;骨质疏松") == ["糖尿病反复低血糖", "骨质疏松"]
    assert parts("高血压伴冠心病") == ["高血压", "冠心病"]
    assert parts("乙状结肠腺癌") == []  # one diagnosis: no parts
    assert parts("伴发热") == []  # a leading 伴 splits nothing


def test_the_best_match_is_the_name_sharing_most_characters():
    index = LexicalIndex(["结肠恶性肿瘤", "直肠恶性肿瘤", "高血压", "乙状结肠良性肿瘤"])
    found, scores = index.search(["结肠癌", "高血压病", "zzz"], 2)
    assert index.strings[found[0][0]] in {"结肠恶性肿瘤", "乙状结肠良性肿瘤"}
    assert index.strings[found[1][0]] == "高血压" and scores[1][0] > scores[1][1]
    assert scores[2][0] == 0  # nothing in common
