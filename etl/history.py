"""A past illness keeps only the relations its own sentence states: rules as data, applied when
window triples become document evidence (etl/pipeline.py, `merge_triples`).

Why: a note lists the patient's past illnesses (`既往糖尿病7年`, `冠心病病史5年`, `脑梗死病史3年，
遗留右侧肢体活动障碍`) a sentence or two away from the current complaint, and the span model, asked
for a disease's symptoms or tests in a window that names both, gave the past illness the
admission's findings: in 80 asserted triples read on the shared notes, 12 of the 25 with a wrong
subject had a past illness as subject (MODELS.md). The guideline attaches a finding to the disease
the note says it belongs to; for a past illness the note says so in the sentence that names it
(`高血压病史10年，口服硝苯地平控制`).

The rule: a subject named as past history (`PAST_AFTER` right after it: `病史`, `史`; or `既往`
before it in its sentence, with no `诊断` between: `据既往病史，故诊断X` names a current
diagnosis) relates only to objects inside its own sentence (`SENTENCE_END` bounds it).

The same test keeps a past illness from being a note's main condition (etl/conditions.py).
Measured: on EMR-RE dev nothing changes (F1 and main condition); on the shared notes the asserted
triples whose subject sits at a past-history mention go 147 -> 7, and 12 of 12 of them read were
wrong (MODELS.md).
"""
from __future__ import annotations

import re

SENTENCE_END = re.compile(r"[。；;！？!?\n]")
PAST_AFTER = re.compile(r"[^，。；,;]{0,2}?(?:病史|史)")  # 冠心病史, 脑梗死病史3年, 糖尿病病史
PAST_BEFORE = "既往"
CURRENT = "诊断"  # 据患者既往病史，故诊断高血压病: the diagnosis is the note's, not a past one


def sentence_of(text: str, start: int, end: int, ends: re.Pattern = SENTENCE_END) -> tuple[int, int]:
    """The sentence of text[start:end]: from after the last of `ends` (SENTENCE_END; a clause's
    punctuation for a clause) before it to the next."""
    begin = 0
    for match in ends.finditer(text, 0, start):
        begin = match.end()
    match = ends.search(text, end)
    return begin, match.start() if match else len(text)


def named_as_past(text: str, start: int, end: int) -> bool:
    """text[start:end] names a past illness: `病史` / `史` right after it, or `既往` before it in
    its sentence with no `诊断` between."""
    if PAST_AFTER.match(text, end):
        return True
    begin, _ = sentence_of(text, start, end)
    before = text[begin:start]
    at = before.rfind(PAST_BEFORE)
    return at >= 0 and CURRENT not in before[at:]


def past_illness_elsewhere(text: str, subject: tuple[int, int], obj: tuple[int, int]) -> bool:
    """The subject (start, end in `text`) is named as a past illness and the object lies outside
    that sentence: the note does not state this relation."""
    begin, finish = sentence_of(text, *subject)
    if begin <= obj[0] and obj[1] <= finish:
        return False
    return named_as_past(text, *subject)
