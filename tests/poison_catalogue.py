"""The poison-row catalogue (issue 17): one hostile value of each kind, used as an id, inside a
note's text (next to real medical words, so entities are found around it) and as metadata,
mixed with good rows. Shared by the sink-level test (tests/graph/test_poison_sink.py) and the
end-to-end `etl run` test (tests/test_poison.py)."""
from __future__ import annotations

import pyarrow as pa

from etl.values import MAX_KEY_BYTES

CONTROLS = {f"c0_{code:02x}": chr(code) for code in range(0x20)} | {"del": "\x7f", "c1_85": "\x85", "c1_9f": "\x9f"}
HOSTILE: dict[str, str] = {
    **CONTROLS,
    "line_sep": "\u2028", "para_sep": "\u2029",
    "lone_high": "\ud800", "lone_low": "\udfff",
    "bidi_override": "\u202e", "bidi_isolate": "\u2066", "zero_width": "\u200b", "zwj": "\u200d",
    "bom": "\ufeff",
    "space_only": "   ", "padded": "  padded  ", "ideographic_space": "\u3000",
    "cypher": "'}) MATCH (n) DETACH DELETE n //", "cypher_param": "$rows", "backticks": "`x`",
    "quotes": "\"'\\", "emoji": "😀🧪", "combining": "e\u0301\u0301\u0301", "fullwidth_digits": "１２３",
    "long_10k": "病" * 3400,  # ~10 KB of UTF-8
}
# Medical text the shipped models find triples in (a disease, its symptoms, a drug).
CARRIER = "患者{x}患有糖尿病{x}，表现为多饮、多尿{x}和体重下降，予以二甲双胍{x}治疗。"


def store_safe_key(key: str) -> bool:
    """What FalkorDB 4.16.3 was measured to need of a unique key (STACK.md): no NUL (parse error),
    no U+0001 and no ASCII whitespace at either end (segfault), UTF-8 (the clients refuse lone
    surrogates), small (over ~4 KB MERGE makes duplicates)."""
    key.encode("utf-8")
    return (bool(key) and "\x00" not in key and "\x01" not in key and key == key.strip(" \t\n\r\x0b\x0c")
            and len(key.encode("utf-8")) <= MAX_KEY_BYTES)


def hostile_rows(good_texts: list[str]) -> list[dict]:
    """Rows: for each hostile value, one with it as the id, one with it inside the text and one
    with it as metadata; then good rows, and a 300 KB text."""
    rows = []
    for name, value in HOSTILE.items():
        rows.append({"doc_id": value, "text": CARRIER.format(x=""), "section": name})
        rows.append({"doc_id": f"text-{name}", "text": CARRIER.format(x=value), "section": name})
        rows.append({"doc_id": f"meta-{name}", "text": CARRIER.format(x=""), "section": value})
    rows.append({"doc_id": "big-300k", "text": ("患者发热三天，咳嗽。" * 10_000)[:100_000], "section": "big"})
    for i, text in enumerate(good_texts):
        rows.append({"doc_id": f"good-{i}", "text": text, "section": "good"})
    return rows


def hostile_table(good_texts: list[str]) -> pa.Table:
    """As a Parquet-ready table; lone surrogates cannot be UTF-8, so those cells are written as the
    bytes a broken producer would write (surrogatepass), in string columns (invalid UTF-8)."""
    rows = hostile_rows(good_texts)

    def column(key):
        data = [r[key].encode("utf-8", "surrogatepass") for r in rows]
        return pa.array(data, pa.binary()).view(pa.string())

    return pa.table({"doc_id": column("doc_id"), "text": column("text"), "section": column("section")})
