"""Which disease a finding of a note belongs to: rules applied when window triples become document
evidence (etl/pipeline.py, `merge_triples`), for the passages of notes (read after their main
condition, etl/conditions.py) only. Part of the span model's run-time version (CONDITION_MODULES):
an edit here re-extracts every document.

Why: the models, asked about every disease a passage names, give a co-diagnosis the main
condition's findings and a disease the sites of the physical exam; both were the most frequent
errors read on the shared notes (MODELS.md).

- One subject per object place (`one_subject_per_object`): a drug or a symptom at one place in a
  note is told about one disease, the best-scored. The annotations give 5% of object places two
  subjects; on EMR-RE dev, with the notes' decision re-tuned, strict precision 0.497 -> 0.520.
- A site is told with its disease (`site_told_apart`): a `发病部位` object whose sentence does not
  name its subject (`TOLD_WITH_DISEASE`) is no site of it. In the annotations 79% of the 147 sites
  share a sentence with a mention of their disease (`CT示：双侧基底节区脑梗死`, `右肺门结节`); of
  the 360 asserted sites of the shared notes, 300 did not (`阑尾炎 -发病部位-> 阴茎`, the exam's
  `右侧锁骨中线`), and on EMR-RE dev the 6 such predicted sites were all wrong.
- A differential diagnosis tells another disease's textbook picture (`急性支气管炎与喘息性支气管炎
  相鉴别，后者以咳嗽、喘息为主`): a symptom in a sentence that holds `相鉴别` is the patient's
  nothing (`in_differential`). No EMR-RE symptom sits in one; 9 asserted triples of the shared
  notes did, two of them read wrong.
- A note that reasons its diagnoses one by one gives each the findings of its reasoning
  (`reasoned_subjects`: `依据…为主症…故诊断为：X。…故诊断：Y。`): 16 of the shared notes (the
  paediatric treatment notes), none of EMR-RE's; read there (MODELS.md).
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from etl.findings import SYMPTOM_PREDICATES
from etl.history import sentence_of

if TYPE_CHECKING:
    from etl.graph.records import Evidence

TOLD_WITH_DISEASE = frozenset({"发病部位"})  # 转移部位 / 外侵部位 are told apart often (下段食管癌…，肝转移)


def one_subject_per_object(evidence: list[Evidence]) -> list[Evidence]:
    """One (subject, predicate) for an object place: the best-scoring (the first of equals)."""
    best: dict[tuple, Evidence] = {}
    for ev in evidence:
        key = (ev.object_start, ev.object_end)
        if key not in best or ev.score > best[key].score:
            best[key] = ev
    kept = set(map(id, best.values()))
    return [ev for ev in evidence if id(ev) in kept]


DIFFERENTIAL = "相鉴别"


def in_differential(text: str, predicate: str, object_start: int, object_end: int) -> bool:
    """A symptom whose sentence compares diagnoses (DIFFERENTIAL): another disease's picture."""
    if predicate not in SYMPTOM_PREDICATES:
        return False
    begin, end = sentence_of(text, object_start, object_end)
    return DIFFERENTIAL in text[begin:end]


def site_told_apart(text: str, subject: str, predicate: str, object_start: int, object_end: int,
                    floor: int = 0) -> bool:
    """A site predicate whose object's sentence in `text` (from `floor` on: after a passage's
    `X@` prefix, which names every subject) does not name `subject`."""
    if predicate not in TOLD_WITH_DISEASE:
        return False
    begin, end = sentence_of(text, object_start, object_end)
    return subject not in text[max(begin, floor):end]


# A note that reasons its diagnoses one by one (`依据…以咳嗽、发热为主症…故诊断为：急性支气管炎。
# 4、…为主症…故诊断：热性惊厥。`, the paediatric treatment notes): each conclusion owns the findings
# of the reasoning before it. The models, reading `<main condition>@<window>`, gave them to the main
# condition or to the neighbouring diagnosis: 14 of the 23 wrong triples of an 80-triple reading.
CONCLUSION = re.compile(r"(?:故|可|遂|因此)?(?:诊断|诊为)(?:为)?[:：]?\s*([^。；;，,：:\s]{2,30}?)(?:明确|成立)?(?=[\s。；;]|$)"
                        r"|故([^，。；,;：:\s故]{2,20}?)可诊断")
REASONING = re.compile(r"依据|为主症")  # the note reasons its diagnoses (诊断依据, 依据患儿..., 患儿以发热为主症)
NOT_A_CONCLUSION = re.compile(r"[不未非无]|排除|待")


def conclusions(text: str) -> list[tuple[int, int]]:
    """(start, end) of the diagnosis each reasoning block of `text` concludes, in text order;
    empty unless the note reasons (REASONING) and concludes at least two diagnoses."""
    if not REASONING.search(text):
        return []
    found = []
    for match in CONCLUSION.finditer(text):
        group = 1 if match.group(1) else 2
        name = match.group(group)
        if NOT_A_CONCLUSION.search(name):
            continue
        found.append((match.start(group), match.end(group)))
    return found if len({text[a:b] for a, b in found}) >= 2 else []


def reasoned_subjects(text: str, evidence: list[Evidence]) -> list[Evidence]:
    """`evidence` with the subject of each object that lies in a reasoning block set to the
    diagnosis the block concludes (at its place in the note); objects after the last conclusion
    (the treatment) keep theirs."""
    ends = conclusions(text)
    if not ends:
        return evidence
    out = []
    for ev in evidence:
        block_start = 0
        for start, end in ends:
            if ev.object_start is not None and block_start <= ev.object_start and ev.object_end <= start:
                if (ev.subject_start, ev.subject_end) != (start, end):
                    ev = replace(ev, subject=text[start:end], subject_start=start, subject_end=end)
                break
            block_start = end
        out.append(ev)
    return out
