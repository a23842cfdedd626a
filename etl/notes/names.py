"""A note's object names cut (and a combination drug completed) as the guideline writes them: rules
applied when window triples become document evidence (etl/notes/reading.py, `merge_triples`), for
the passages of notes only. Part of the span model's run-time version (CONDITION_MODULES).

Why: the guideline names an entity by "the shortest span that still names it completely",
leaving out leading time and frequency words (ANNOTATION.md: `反复`, `间断`), and the models'
spans of notes often carry the clause's opening (`患者咳嗽`, `查指血糖`, `诉心累`), a list's tail
(`呕吐等早孕反应`), the word 化疗 after a regimen (`FOLFIRI化疗`: the regimen is the object) or
the first digits of a value written against a test's name (`CEA5.28NG/ML` -> `CEA5`), or a
section's label (`辅助检查：2016-08-03我院：腰椎正侧位片`). None of the 4,965 EMR-RE objects starts
with a `LEADING` word, holds `等`, `为主` or a colon, or ends with a regimen's 化疗.
Measured on EMR-RE dev: strict F1 0.475 -> 0.477 (MODELS.md).
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from etl.notes.findings import CHEMO, ROUTES

if TYPE_CHECKING:
    from etl.records import Evidence

LEADING = re.compile(r"^(?:患者|查(?!体)|反复|间断|诉|以|据患者有|(?:依|根)?据病情|据|注射液|给予|予以?)+")
# 以发热为主症, 据患者有慢性咳嗽, 依据病情给予给予非洛地平 (what leads to a treatment given), a drug's dosage
# form before its purpose (头孢替唑[注射液抗感染])
LABEL = re.compile(r".*[：:]")  # 辅助检查：2016-08-03我院：腰椎正侧位片 -> 腰椎正侧位片 (no EMR-RE object holds
# a colon)
NAME = re.compile(r"[\u4e00-\u9fffA-Za-z0-9+\-/]+")  # what a label's cut must leave: a name, not a value's tail
LIST_TAIL = re.compile(r"等|为主|症状(?:有所|明显|稍|略|均)?(?:加重|缓解|好转|减轻|消失)")  # 呕吐等早孕反应 -> 呕吐;
# 咳嗽等不适 -> 咳嗽; 发热为主症 -> 发热; 头痛症状有所加重 -> 头痛 (no EMR-RE object holds 症状)
# Two tests offered as alternatives are two names (`胸片或CT` -> 胸片); a symptom keeps its 或
# (`白色或黄色粘液痰`, the one EMR-RE object that holds it)
ALTERNATIVE = re.compile(r"或")
TESTS = frozenset(("实验室检查", "辅助检查", "影像学检查", "组织学检查", "内窥镜检查"))
REGIMEN_CHEMO = re.compile(r"[A-Za-z0-9+\-）)]化疗$|方案化疗$")  # FOLFIRI化疗 -> FOLFIRI, XELOX方案化疗 -> XELOX方案
MIN_CHARS = 2
OPERATION_TWICE = "术术"  # an operation's 术 and the 术 of 术后 after it (no EMR-RE object ends so)
# A combination drug is one name (`头孢哌酮舒巴坦钠`, `阿莫西林克拉维酸`): the model answers its first
# part (`头孢哌酮`: 12 of the 17 asserted on the shared notes); the partner right after it joins.
DRUG = "药物治疗"
# A supportive treatment is told by its purpose, with its verb (`改善循环`, `减轻心脏负荷`, `纠正贫血`:
# EMR-RE's 辅助治疗 objects); the model answered the condition alone (`气道高敏反应`)
AUXILIARY = "辅助治疗"
PURPOSE_VERB_INSIDE = re.compile(r"减轻|改善|纠正|缓解|预防")
PURPOSE_VERB = re.compile(f"(?:{PURPOSE_VERB_INSIDE.pattern})$")
# ... not by the drug and route run into it (`静点头孢哌酮抗感染`, `口服复方鲜竹沥止咳化痰`: no EMR-RE
# object starts with a route): the purpose it ends with is the treatment
ROUTE = re.compile(r"^(?:%s)" % "|".join(ROUTES))  # (给予 / 予以 before it: LEADING, cut first)
SUPPORTIVE_END = re.compile(r"(?:抗感染|止咳化痰|止咳祛痰|止咳|化痰|祛痰|平喘|抑酸|护胃|补液|止痛|止血"
                            r"|抗炎|抗病毒|营养支持|解痉|利尿|降压|降糖|调脂|活血化瘀|营养神经|对症治疗)$")
DRUG_CLASS = re.compile(r"药物")  # a drug's class and purpose before its name (no EMR-RE drug holds 药物 and more)
PARTNER = re.compile(r"(?:舒巴坦|他唑巴坦|克拉维酸)(?:钠|钾)?")
FIRST_PART = re.compile(r"(?:头孢哌酮|哌拉西林|阿莫西林|氨苄西林|替卡西林)$")  # ... or the partner alone (`舒巴坦钠`)


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
    tail = LIST_TAIL.search(name) or (ALTERNATIVE.search(name) if predicate in TESTS else None)
    if tail and tail.start() >= MIN_CHARS:
        end = start + tail.start()
        name = text[start:end]
    if predicate == CHEMO and REGIMEN_CHEMO.search(name) and len(name) - len(CHEMO) >= MIN_CHARS:
        end -= len(CHEMO)
        name = text[start:end]
    partner = PARTNER.match(text, end) if predicate == DRUG and not PARTNER.search(name) else None
    if partner:
        end = partner.end()
        name = text[start:end]
    purpose = PURPOSE_VERB.search(text, max(0, start - 2), start) if predicate == AUXILIARY else None
    if purpose:  # 雾化吸入减轻[气道高敏反应]: the treatment is its purpose, told with its verb
        start = purpose.start()
        name = text[start:end]
    inside = PURPOSE_VERB_INSIDE.search(name, MIN_CHARS) if predicate == AUXILIARY else None
    if inside:  # [雾化吸入减轻气道高敏反应]: a drug's route run into its purpose
        start += inside.start()
        name = text[start:end]
    told = SUPPORTIVE_END.search(name) if predicate == AUXILIARY and ROUTE.match(name) else None
    if told and told.start() > 0:  # [静点头孢哌酮抗感染] -> 抗感染
        start += told.start()
        name = text[start:end]
    kind = DRUG_CLASS.search(name) if predicate == DRUG else None
    if kind and len(name) - kind.end() >= MIN_CHARS:  # 缓解肌肉紧张药物[复方氯唑沙宗片]: the drug after its class
        start += kind.end()
        name = text[start:end]
    alone = PARTNER.match(text, start) if predicate == DRUG else None
    first = FIRST_PART.search(text, 0, start) if alone else None
    if first:
        start, end = first.start(), max(end, alone.end())
        name = text[start:end]
    if name.endswith(OPERATION_TWICE) and len(name) > len(OPERATION_TWICE):  # 包皮环切术[术]后: the 术 of 术后
        end -= 1
        name = text[start:end]
    if name[-1:].isdigit() and re.match(r"\.\d", text[end:end + 2]):  # CEA5|.28: a value's integer part
        digits = len(name) - len(name.rstrip("0123456789"))
        if len(name) - digits >= MIN_CHARS:
            end -= digits
    return start, end


# A disease's name with its modifier, as the guideline keeps it (`乙状结肠癌`, `低分化腺癌`): the
# model often answers the head alone after a statement (`诊断为喘息性[支气管炎]`, `诊断为：急性喉-
# [支气管炎]`, `诊断为急性[扁桃腺炎]`: 45 asserted triples of the shared notes). A modifier ending in
# 性 or a compound's first part before `-` (at most MODIFIER_CHARS) joins the subject's name when a
# statement boundary (`NAME_BOUNDARY`) comes right before it; otherwise the name is left as found
# (`右侧基底节区陈旧腔隙性脑梗死`: no boundary before `腔隙性`). Applied to the evidence after the
# models, so what they read (`<main condition>@<window>`) is unchanged: read with the longer name,
# they found 15 fewer right triples on the shared notes.
MODIFIER = re.compile(r"[\u4e00-\u9fff]{1,4}?[性\-－]")
MODIFIER_CHARS = 5
NAME_BOUNDARY = re.compile(r"[：:，,。；;、\s“\"（(]|为|示")


def whole_name_start(text: str, start: int) -> int:
    """Where the name found at text[start:] begins once its modifier is joined (MODIFIER)."""
    if start == 0 or text[start - 1] not in "性-－":
        return start
    for width in range(2, MODIFIER_CHARS + 1):
        begin = start - width
        if begin < 0:
            break
        if MODIFIER.fullmatch(text[begin:start]) and (begin == 0 or NAME_BOUNDARY.match(text, begin - 1)):
            return begin
    return start


# A disease's phase written right after its name is part of it (`慢性阻塞性肺疾病急性期`,
# `慢性支气管炎急性发作`, `慢阻肺急性加重期`): EMR-RE's annotators keep it in all 194 triples whose subject
# is so named, and the models, which learned CMeIE's bare names, answer the name without it.
PHASE = re.compile(r"急性(?:发作|加重)?期?")
PHASE_END = re.compile(r"(?:急性|发作|加重)$")  # a phase found without its 期 (慢性阻塞性肺疾病急性加重[期])
PERIOD = "期"


def whole_name_end(text: str, end: int) -> int:
    """Where the name found at text[:end] ends once a phase told right after it, or the 期 of its
    own phase, is joined (PHASE)."""
    phase = PHASE.match(text, end)
    if phase:
        return phase.end()
    return end + 1 if PHASE_END.search(text, max(0, end - 2), end) and text.startswith(PERIOD, end) else end


def whole_subjects(text: str, evidence: list[Evidence]) -> list[Evidence]:
    """`evidence` with each subject found without its modifier or its phase given its whole name."""
    out = []
    for ev in evidence:
        if ev.subject_start is not None:
            begin = whole_name_start(text, ev.subject_start)
            end = whole_name_end(text, ev.subject_end)
            if (begin, end) != (ev.subject_start, ev.subject_end):
                ev = replace(ev, subject=text[begin:end], subject_start=begin, subject_end=end)
        out.append(ev)
    return out
