"""etl/values.py: the rules for every string that reaches a store, as properties (hypothesis).
`store_safe_key` (poison_catalogue.py) is what FalkorDB was measured to need of a unique key."""
from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from etl import values
from poison_catalogue import store_safe_key

# Every code point, lone surrogates included, with the hostile ones drawn often.
HOSTILE = ["\x00", "\x01", "\t", "\n", "\r", "\x0b", "\x7f", "\x85", "\u2028", "\u2029", "\u200b",
           "\u200d", "\u202e", "\u2066", "\ufeff", "\ud800", "\udfff", "\u3000", "\uff11", "e\u0301",
           "`", "'", '"', "\\", "}) DETACH DELETE n //", "😀", " "]
text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.characters(codec=None)), max_size=40).map("".join)
SETTINGS = settings(max_examples=200, deadline=None)


def store_safe_text(value: str) -> bool:
    value.encode("utf-8")  # raises on a lone surrogate
    return not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", value)


@SETTINGS
@given(text)
@example("糖\x00尿\x01病\ud800")
def test_clean_text_is_one_for_one_safe_and_idempotent(value):
    cleaned = values.clean_text(value)
    assert len(cleaned) == len(value)  # offsets into a note stay valid
    assert store_safe_text(cleaned)
    assert values.clean_text(cleaned) == cleaned
    for before, after in zip(value, cleaned):  # only the forbidden characters change
        assert after == before or before in "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x7f" \
            or 0x0e <= ord(before) <= 0x1f or 0x80 <= ord(before) <= 0x9f or 0xd800 <= ord(before) <= 0xdfff


@SETTINGS
@given(text)
@example("e\u200d\u0301")  # removing the joiner lets NFKC compose: must still be a fixed point
@example(" \u3000糖尿病\u200b\n")
def test_normalize_name_is_idempotent_and_gives_store_safe_keys(value):
    name = values.normalize_name(value)
    assert values.normalize_name(name) == name
    assert store_safe_text(name) and not re.search(r"\s\s", name) and name == name.strip()
    assert not any(0x200b <= ord(c) <= 0x200f or 0x202a <= ord(c) <= 0x202e for c in name)
    if name:
        assert store_safe_key(values.name_key(name))


@SETTINGS
@given(st.text(min_size=300, max_size=3000))
def test_name_key_bounds_every_name_and_keeps_them_apart(value):
    name = values.normalize_name(value)
    key = values.name_key(name)
    assert len(key.encode("utf-8")) <= values.MAX_KEY_BYTES
    if len(name.encode("utf-8")) <= values.MAX_KEY_BYTES:
        assert key == name
    else:
        assert key != values.name_key(name + "x") and key.endswith(values.name_key(name)[-40:])


@SETTINGS
@given(st.one_of(text, st.binary(max_size=40), st.integers(), st.none()))
@example(" d1 ")
@example("x" * 401)
@example(b"\xff")
def test_check_id_returns_a_store_safe_key_or_a_reason(raw):
    try:
        doc_id = values.check_id(raw)
    except values.InvalidId as error:
        assert error.reason in {values.MISSING_ID, values.INVALID_ID, values.UNDECODABLE_ID, values.ID_TOO_LONG}
        preview = values.id_preview(raw)
        assert preview is None or (store_safe_text(preview) and len(preview) <= 160)
        return
    assert store_safe_key(doc_id) and store_safe_text(doc_id) and doc_id == doc_id.strip()
    assert values.check_id(doc_id) == doc_id


@SETTINGS
@given(st.recursive(st.one_of(text, st.binary(max_size=20), st.integers(), st.floats(allow_nan=False), st.none()),
                    lambda inner: st.lists(inner, max_size=4), max_leaves=10))
def test_clean_value_leaves_no_unsafe_string(value):
    def strings(v):
        if isinstance(v, str):
            yield v
        elif isinstance(v, list):
            for item in v:
                yield from strings(item)
        else:
            assert not isinstance(v, (bytes, bytearray))

    for item in strings(values.clean_value(value)):
        assert store_safe_text(item)


@pytest.mark.parametrize("raw, reason", [
    (None, values.MISSING_ID), ("  \u3000", values.MISSING_ID), ("a\x01b", values.INVALID_ID),
    ("a\x00", values.INVALID_ID), ("a\nb", values.INVALID_ID), ("a\ud800", values.INVALID_ID),
    (b"\xff\xfe", values.UNDECODABLE_ID), ("长" * 134, values.ID_TOO_LONG)])
def test_each_id_rule(raw, reason):
    with pytest.raises(values.InvalidId) as caught:
        values.check_id(raw)
    assert caught.value.reason == reason


def test_names_fold_and_drop_invisible_characters():
    assert values.normalize_name(" 糖\u200b尿\u00a0病\x01 ") == "糖尿 病"
    assert values.normalize_name("ＩｇＡ\u202e肾病") == "IgA肾病"
    assert values.normalize_name("\u200b\u200d\x00") == ""
