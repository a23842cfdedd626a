"""A past illness keeps only the relations its own sentence states: rules as data, applied when
window triples become document evidence (etl/notes/reading.py, `merge_triples`).

Why: a note lists the patient's past illnesses (`既往糖尿病7年`, `冠心病病史5年`, `脑梗死病史3年，
遗留右侧肢体活动障碍`) a sentence or two away from the current complaint, and the span model, asked
for a disease's symptoms or tests in a window that names both, gave the past illness the
admission's findings: in 80 asserted triples read on the shared notes, 12 of the 25 with a wrong
subject had a past illness as subject (MODELS.md). The guideline attaches a finding to the disease
the note says it belongs to; for a past illness the note says so in the sentence that names it
(`高血压病史10年，口服硝苯地平控制`).

The rule: a subject named as past history (`PAST_AFTER` right after it: `病史`, `史`, or a duration
in years, `高血压30年`, `糖尿病20余年`; or `既往`
before it in its sentence, with no `诊断` between: `据既往病史，故诊断X` names a current
diagnosis) relates only to objects inside its own sentence (`SENTENCE_END` bounds it).

The same test keeps a past illness from being a note's main condition (etl/notes/conditions.py), and
the other way round an object in a past illness's sentence is that illness's (`past_owns_its_sentence`,
a note's evidence as a whole, etl/notes/reading.py `read_note`).
Measured: on EMR-RE dev nothing changes (F1 and main condition); on the shared notes the asserted
triples whose subject sits at a past-history mention go 147 -> 7, and 12 of 12 of them read were
wrong (MODELS.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etl.records import Evidence

SENTENCE_END = re.compile(r"[。；;！？!?\n]")
PAST_AFTER = re.compile(r"[^，。；,;]{0,2}?(?:病史|史)|\d+\+?余?年")  # 冠心病史, 脑梗死病史3年, 糖尿病病史, 高血压30年
PAST_BEFORE = "既往"
SYNONYM = "同义词"  # a name's own: it moves with no illness
DISEASE = "疾病"
OPERATION = "术"  # an operation told in a history's sentence is an event of its own (双侧膝关节置换术后7年)
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


def outside_its_sentence(text: str, subject: tuple[int, int], obj: tuple[int, int]) -> bool:
    """The object (start, end in `text`) lies outside the subject's sentence."""
    begin, finish = sentence_of(text, *subject)
    return not (begin <= obj[0] and obj[1] <= finish)


def past_illness_elsewhere(text: str, subject: tuple[int, int], obj: tuple[int, int]) -> bool:
    """The subject (start, end in `text`) is named as a past illness and the object lies outside
    that sentence: the note does not state this relation."""
    return outside_its_sentence(text, subject, obj) and named_as_past(text, *subject)


# A past illness the note names with its history (`高血压病病史5年`, `既往有脑出血症病史5年`), read from
# the text when the models did not find it as a subject: the clause's words before 史, after its
# last lead-in (既往有, 患, a list number), the 病 of 病史 left out (not the 病 of 冠心病史). A history
# of no illness (手术史, 过敏史, 否认…史), of a complaint (多年反复咳嗽病史) or the note's own words
# (现病史, 依据病史) names none.
HISTORY = "史"
HISTORY_CLAUSE = re.compile(r"[，。；;,：:、\s（(）)]")
HISTORY_LEAD = re.compile(r"(?:\d{1,2}\s*[.、．]|既往|曾|有|患|诊断为?|发现|确诊为?)+")
NOT_AN_ILLNESS = re.compile(r"手术|外伤|输血|过敏|吸烟|饮酒|烟酒|家族|个人|婚育|月经|预防|接种|疫|接触|冶游|传染"
                            r"|否认|[无未不]|体健|用药|服药|^[^\u4e00-\u9fff]*$|据|^现病$|者|入院|岁"
                            r"|多年|反复|间断|长期|经常|偶有")
BING_OF_THE_NAME_AFTER = "心尿脏"  # 冠心病史, 糖尿病史, 心脏病史: the 病 is the name's
NAME_CHARS = (2, 15)


@dataclass(frozen=True)
class NamedHistory:
    """A past illness named in the text (the fields an owner needs, as an Evidence has them)."""
    subject: str
    subject_start: int
    subject_end: int
    subject_type: str = DISEASE


# ... or with its years after 既往 (`既往患糖尿病7年，自行皮下注射胰岛素治疗`: the reading found the
# insulin given to the admission's fracture)
PAST_YEARS = re.compile(r"既往(?:患有?|有|诊断为?)?([^，。；;,:：、\s\d史（(]{2,15}?)"
                        r"(?:\d+|[一二两三四五六七八九十数]+)[+余]?年")


def named_histories(text: str) -> list[NamedHistory]:
    """The past illnesses `text` names with their history (HISTORY_LEAD … [病]史) or their years
    after 既往 (PAST_YEARS)."""
    found = [NamedHistory(match.group(1), *match.span(1)) for match in PAST_YEARS.finditer(text)
             if not NOT_AN_ILLNESS.search(match.group(1))]
    for at in (i for i, ch in enumerate(text) if ch == HISTORY):
        start, _ = sentence_of(text, at, at, HISTORY_CLAUSE)
        for lead in HISTORY_LEAD.finditer(text, start, at):  # after the last lead-in (男45岁2患精神分裂症)
            start = lead.end()
        words, end = text[start:at], at
        if words.endswith("病病") or (words.endswith("病") and len(words) > 3
                                    and words[-2] not in BING_OF_THE_NAME_AFTER):
            end -= 1  # the 病 of 病史
        name = text[start:end]
        if NAME_CHARS[0] <= len(name) <= NAME_CHARS[1] and not NOT_AN_ILLNESS.search(name):
            found.append(NamedHistory(name, start, end))
    return found


def past_owns_its_sentence(text: str, evidence: list[Evidence]) -> list[Evidence]:
    """`evidence` with each object whose sentence names a past illness before it, one the models
    found as a subject or the text names with its history (`精神分裂症病史10年，口服氯氮平`,
    `高血压病病史5年，规律口服硝苯地平`), given to the nearest such illness, when its subject lies
    outside that sentence (the main condition, told elsewhere). In the annotations, every present object
    in a sentence that names a past illness (10 of EMR-RE's) is that illness's."""
    past: list[tuple[int, int, Evidence | NamedHistory]] = []  # (sentence start, end, the illness)
    seen = set()
    for ev in evidence:
        place = (ev.subject_start, ev.subject_end)
        if ev.subject_start is None or place in seen:
            continue
        seen.add(place)
        if named_as_past(text, *place):
            past.append((*sentence_of(text, *place), ev))
    if evidence:
        past += [(*sentence_of(text, h.subject_start, h.subject_end), h) for h in named_histories(text)
                 if not any(h.subject_start < e and s < h.subject_end for s, e in seen if s is not None)]
    if not past:
        return evidence
    out = []
    for ev in evidence:
        if ev.object_start is not None and ev.subject_start is not None and ev.predicate != SYNONYM:
            owners = [owner for begin, end, owner in past if begin <= ev.object_start and ev.object_end <= end
                      and owner.subject_type == ev.subject_type  # the schema line stays the same
                      and not (isinstance(owner, NamedHistory) and ev.object.endswith(OPERATION))
                      and owner.subject_end <= ev.object_start  # named before it in its sentence,
                      and not _another_history(text, owner.subject_end, ev.object_start)]
            if owners and not any(o.subject_start == ev.subject_start for o in owners):
                begin, end = sentence_of(text, ev.object_start, ev.object_end)
                if not (begin <= ev.subject_start and ev.subject_end <= end):
                    owner = max(owners, key=lambda o: o.subject_end)  # the nearest
                    ev = replace(ev, subject=owner.subject, subject_type=owner.subject_type,
                                 subject_start=owner.subject_start, subject_end=owner.subject_end)
        out.append(ev)
    return out


def _another_history(text: str, after_illness: int, before_object: int) -> bool:
    """Another history is told between an illness (ending at `after_illness`) and an object
    (`冠心病病史5年，…，高血压病病史5年，口服硝苯地平`: the drug is the second one's)."""
    own = PAST_AFTER.match(text, after_illness)
    return "史" in text[own.end() if own else after_illness:before_object]
