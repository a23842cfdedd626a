"""A note's object names cut as the guideline writes them: rules applied when window triples become
document evidence (etl/pipeline.py, `merge_triples`), for the passages of notes only. Part of the
span model's run-time version (CONDITION_MODULES).

Why: the guideline names an entity by "the shortest span that still names it completely",
leaving out leading time and frequency words (ANNOTATION.md: `反复`, `间断`), and the models'
spans of notes often carry the clause's opening (`患者咳嗽`, `查指血糖`, `诉心累`), a list's tail
(`呕吐等早孕反应`), the word 化疗 after a regimen (`FOLFIRI化疗`: the regimen is the object) or
the first digits of a value written against a test's name (`CEA5.28NG/ML` -> `CEA5`), or a
section's label (`辅助检查：2016-08-03我院：腰椎正侧位片`). None of the 4,965 EMR-RE objects starts
with a `LEADING` word, holds `等` or a colon, or ends with a regimen's 化疗.
Measured on EMR-RE dev: strict F1 0.475 -> 0.477 (MODELS.md).
"""
from __future__ import annotations

import re

LEADING = re.compile(r"^(?:患者|查(?!体)|反复|间断|诉|以|据患者有|据)+")  # 以发热为主症, 据患者有慢性咳嗽
LABEL = re.compile(r".*[：:]")  # 辅助检查：2016-08-03我院：腰椎正侧位片 -> 腰椎正侧位片 (no EMR-RE object holds a colon)
NAME = re.compile(r"[\u4e00-\u9fffA-Za-z0-9+\-/]+")  # what a label's cut must leave: a name, not a value's tail
LIST_TAIL = re.compile(r"等")  # 呕吐等早孕反应 -> 呕吐; 咳嗽等不适 -> 咳嗽
REGIMEN_CHEMO = re.compile(r"[A-Za-z0-9+\-）)]化疗$|方案化疗$")  # FOLFIRI化疗 -> FOLFIRI, XELOX方案化疗 -> XELOX方案
CHEMO = "化疗"
MIN_CHARS = 2


def trim_object(text: str, start: int, end: int, predicate: str) -> tuple[int, int]:
    """The place of the object text[start:end] once cut as the guideline names it (the same
    place when nothing applies, or when a cut would leave fewer than MIN_CHARS characters)."""
    name = text[start:end]
    label = LABEL.match(name)
    if label and len(name) - label.end() >= MIN_CHARS and NAME.fullmatch(name, label.end()):
        start += label.end()
        name = text[start:end]
    lead = LEADING.match(name)
    if lead and len(name) - lead.end() >= MIN_CHARS:
        start += lead.end()
        name = text[start:end]
    tail = LIST_TAIL.search(name)
    if tail and tail.start() >= MIN_CHARS:
        end = start + tail.start()
        name = text[start:end]
    if predicate == CHEMO and REGIMEN_CHEMO.search(name) and len(name) - len(CHEMO) >= MIN_CHARS:
        end -= len(CHEMO)
        name = text[start:end]
    if name[-1:].isdigit() and re.match(r"\.\d", text[end:end + 2]):  # CEA5|.28: a value's integer part
        digits = len(name) - len(name.rstrip("0123456789"))
        if len(name) - digits >= MIN_CHARS:
            end -= digits
    return start, end
