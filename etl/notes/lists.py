"""One item of a note's list gives the others: a rule applied to a note's evidence after the
window merge, before the assertion stage judges it (etl/run/stages.py, `spans`). Part of the
span model's run-time version (CONDITION_MODULES).

Why: the guideline gives a list one object per item (ANNOTATION.md: `腹胀、腹痛` gives `腹胀` and
`腹痛`), and notes tell symptoms as lists (`伴反酸、嗳气、烧心`, `伴恶心、呕吐1次胃内容物`); the span
model often answers one item and misses its neighbours: of the 106 present symptoms of EMR-RE dev
the pipeline misses entirely, most sit in such a list beside one it found.

The rule: for a symptom (etl/notes/findings.py's `SYMPTOM_PREDICATES`) the models found, the other items of its clause's
`、`-list are objects of the same subject and predicate, at their places. An item is what lies
between two `、` (or the clause's bounds), after a leading verb (`伴`, `出现`, `感`: `LEAD`), and it
must be a short name (`ITEM`: up to MAX_ITEM Chinese characters); an item after the found one
may go on with a count (`呕吐1次胃内容物` -> `呕吐`). A place some evidence already holds is left as
it is. The assertion stage then judges each item in its note (`无反酸、腹泻` stays denied).
Measured on EMR-RE dev (MODELS.md): strict F1 0.468 -> 0.475 (recall 0.422 -> 0.435, precision kept).
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from etl.notes.findings import SYMPTOM_PREDICATES, exam_word, states_normal
from etl.notes.history import sentence_of
from etl.notes.names import trim_object

if TYPE_CHECKING:
    from etl.records import Evidence

MAX_ITEM = 8
CLAUSE_END = re.compile(r"[，。；;,:：（()）“”\"\n]")
LEAD = re.compile(r"(?:并伴有|伴有|伴|并|有|出现|感|诉|偶有|时有|及)")
# a word before the first item that governs the whole list: its items are no names alone
# (`停止排气、排便`: `排便` is no symptom; `无反酸、腹泻` is the assertion stage's)
GOVERNING = re.compile(r"停止|否认|没有")  # anywhere in the first item (3天前停止排气)
GOVERNING_FIRST = re.compile(r"[无未不]")  # right at its start (不适 ends a name: 腹部不适、腹胀)
ITEM = re.compile(r"[\u4e00-\u9fff]{1,%d}" % MAX_ITEM)


def list_siblings(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of the other items of the `、`-list that text[start:end] is an item of."""
    begin, finish = sentence_of(text, start, end, CLAUSE_END)
    if "、" not in text[begin:finish]:
        return []
    parts = text[begin:finish].split("、")
    lead = LEAD.match(parts[0])
    if GOVERNING.search(parts[0]) or GOVERNING_FIRST.match(parts[0], lead.end() if lead else 0):
        return []
    items, position = [], begin
    for part in parts:
        first, last = position, position + len(part)
        position = last + 1
        if first <= start < last or last <= first:
            continue
        lead = LEAD.match(part)
        offset = lead.end() if lead else 0
        name = ITEM.match(part, offset)
        if name is None:
            continue
        whole = name.end() == len(part)
        counted = first > start and re.match(r"\d", part[name.end():])  # 呕吐1次胃内容物, after the found item
        if whole or counted:
            items.append((first + offset, first + name.end()))
    return items


def complete_lists(text: str, evidence: list[Evidence]) -> list[Evidence]:
    """`evidence` plus, for each symptom in it, the other items of its list (same subject,
    predicate and score), cut as etl/notes/names.py cuts the models' objects and left out as
    etl/notes/findings.py leaves them out (a normal state, a change word), at places no evidence holds yet."""
    taken = [(e.object_start, e.object_end) for e in evidence]
    added: list[Evidence] = []
    for ev in evidence:
        if ev.predicate not in SYMPTOM_PREDICATES or ev.object_start is None:  # drugs' and tests' lists: doses
            continue
        for start, end in list_siblings(text, ev.object_start, ev.object_end):
            start, end = trim_object(text, start, end, ev.predicate)  # cut as the models' objects are
            if any(a < end and start < b for a, b in taken):
                continue
            name = text[start:end]
            if exam_word(ev.predicate, name) or states_normal(text, ev.predicate, name, end, ev.object_type):
                continue  # filtered as the models' objects are: 两肺纹理增粗、[增多], 肝脾未及、[神志清楚]
            taken.append((start, end))
            added.append(replace(ev, object=text[start:end], object_start=start, object_end=end))
    return evidence + added


# Two symptoms written without a separator (`头痛头晕2天`, `腹痛腹胀`, `恶心呕吐`) are two objects:
# EMR-RE never annotates such a pair whole (19 of its occurrences split, the rest not annotated);
# the span model answered them whole (`头痛头晕`, `腹痛停止排便`). Rules as data: the symptom words
# a pair is made of.
JOINABLE = frozenset((
    "头痛", "头晕", "头昏", "腹痛", "腹胀", "腹泻", "恶心", "呕吐", "咳嗽", "咳痰", "胸闷", "胸痛", "气短",
    "气促", "心累", "心悸", "心慌", "发热", "流涕", "鼻塞", "乏力", "纳差", "憋气", "喘憋", "尿频", "尿急",
    "尿痛", "反酸", "嗳气", "烧心", "腰痛", "咽痛", "畏寒", "寒战",
))
WORD = 2  # every JOINABLE word has two characters


def split_joined(evidence: list[Evidence]) -> list[Evidence]:
    """`evidence` with each symptom object made of two JOINABLE words given as two objects."""
    out = []
    for ev in evidence:
        name = ev.object
        if ev.predicate in SYMPTOM_PREDICATES and ev.object_start is not None and len(name) == 2 * WORD \
                and name[:WORD] in JOINABLE and name[WORD:] in JOINABLE:
            at = ev.object_start
            out.append(replace(ev, object=name[:WORD], object_end=at + WORD))
            out.append(replace(ev, object=name[WORD:], object_start=at + WORD))
        else:
            out.append(ev)
    return out
