"""Which disease a finding of a note belongs to: rules applied when window triples become document
evidence (etl/notes/reading.py, `merge_triples`), for the passages of notes (read after their main
condition, etl/notes/conditions.py) only. Part of the span model's run-time version (CONDITION_MODULES):
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
  (`reasoned_subjects`: `依据…为主症…故诊断为：X。…故诊断：Y。`, `据…故诊断X成立，据…故诊断Y成立`):
  28 of the shared notes (the treatment notes), none of EMR-RE's; read there (MODELS.md).
- A note admitted for several diseases gives each finding to the disease the training annotations
  give it to (`known_subjects`, etl/models/spans/knowledge.py): `咳痰` to 肺部感染, not to the
  main condition 冠心病. On EMR-RE dev strict F1 0.482 -> 0.506 (MODELS.md).
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from etl.notes.conditions import statement_items, told_in_passing
from etl.notes.findings import DRUG_PREDICATE, OPERATION_PREDICATE, STAGE, SYMPTOM_PREDICATES
from etl.notes.history import named_as_past, named_histories, outside_its_sentence, sentence_of

if TYPE_CHECKING:
    from etl.records import Evidence
    from etl.models.spans.knowledge import FindingKnowledge

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
    `X@` prefix, which names every subject) does not name `subject`, or whose object the subject's
    name holds."""
    if predicate not in TOLD_WITH_DISEASE:
        return False
    if text[object_start:object_end] in subject:
        return True  # 扁桃体 of 急性化脓性扁桃体炎: the name holds it (none of EMR-RE's 147 sites is so)
    begin, end = sentence_of(text, object_start, object_end)
    return subject not in text[max(begin, floor):end]


# A lesion the physical exam finds (`左面部可见一4X3cm皮肤挫伤`) and what an ECG reads
# (etl/notes/conditions.py, `told_in_passing`) are told where they are seen: the span model, asked about
# every disease a window names, gave them the note's history, workup and treatment
# (`皮肤挫伤 -影像学检查-> 胸部CT`, `-临床表现-> 咳嗽`: 47 `皮肤挫伤` and 30 `挫伤` asserted triples on
# the shared notes; `窦性心动过速 -药物治疗-> 硝苯地平`). Such a subject relates only to objects of its
# own sentence, as a past illness does (etl/notes/history.py). Of EMR-RE's 4,965 annotated triples, none
# of an exam's lesion and 18 of an ECG's reading (心房纤颤 told only so) lie outside it: the note's
# main condition is exempt (etl/notes/reading.py), which keeps those on EMR-RE dev.
def passing_mention_elsewhere(text: str, subject: tuple[int, int], obj: tuple[int, int]) -> bool:
    """The subject (start, end in `text`) is told in passing and the object lies outside its
    sentence: the note does not state this relation."""
    return outside_its_sentence(text, subject, obj) and told_in_passing(text, *subject)


# A supplementary diagnosis (`补充诊断：腰椎间盘突出症。给予…蜡疗`) is found during the stay: a
# treatment the note tells before its sentence was given before it was found, for the admission's
# condition (`给予应用抗炎、活血化瘀…。后患者诉腰痛…补充诊断：腰椎间盘突出症`; `给予口服活血止痛药物及
# 物理治疗；…补充诊断：高胆固醇血症`): three readings found 6 such triples, all wrong. The findings
# told before it are how it was found (`彩超回报：…补充诊断：慢性前列腺炎`) and stay. No EMR-RE note
# has one.
SUPPLEMENTARY = re.compile(r"补充诊断[^。；;\n]{0,30}$")


# ... and a treatment told after it in its sentence, with no purpose word of its own, is its
# (`补充诊断心力衰竭 心功能Ⅳ级，并给予螺内酯，呋塞米利尿`: two readings found them given to the
# admission's 肺炎 or 冠心病); one told with a purpose (`泮托拉唑抑酸`) goes by that (PURPOSE_KINDS).
SUPPLEMENTARY_NAME = re.compile(r"补充诊断[为是]?[：:]?\s*([^，。；;,：:\s（(]{2,20})")


def _found_in_its_sentence(text: str, ev: Evidence) -> dict[str, tuple[int, int]]:
    """The supplementary diagnosis named before a treatment with no purpose word in its sentence."""
    if ev.predicate not in TREATMENTS or ev.object_start is None or PURPOSE_WORD.match(text, ev.object_end):
        return {}
    begin, _ = sentence_of(text, ev.object_start, ev.object_end)
    found = list(SUPPLEMENTARY_NAME.finditer(text, begin, ev.object_start))
    if not found or not DISEASE_ENDING.search(found[-1].group(1)):
        return {}
    return {found[-1].group(1): found[-1].span(1)}


def told_before_found(text: str, ev: Evidence) -> bool:
    """A treatment told before the sentence of its subject, which a supplementary diagnosis names
    (SUPPLEMENTARY in its sentence before it)."""
    if ev.predicate not in TREATMENTS or ev.subject_start is None or ev.object_start is None:
        return False
    begin, _ = sentence_of(text, ev.subject_start, ev.subject_end)
    return ev.object_end <= begin and bool(SUPPLEMENTARY.search(text, begin, ev.subject_start))


# A note that reasons its diagnoses one by one (`依据…以咳嗽、发热为主症…故诊断为：急性支气管炎。
# 4、…为主症…故诊断：热性惊厥。`, the paediatric treatment notes): each conclusion owns the findings
# of the reasoning before it. The models, reading `<main condition>@<window>`, gave them to the main
# condition or to the neighbouring diagnosis: 14 of the 23 wrong triples of an 80-triple reading.
CONCLUSION = re.compile(r"(?<!鉴别)(?:故|可|遂|因此)?(?:诊断|诊为)(?:为)?[:：]?\s*([^。；;，,：:\s（(]{2,30}?)"
                        r"(?:(?:明确|成立)(?=[\s。；;，,]|$)|(?=[\s。；;]|[（(][^）)]{1,6}[）)][，,。；;]|$))"
                        r"|故([^，。；,;：:\s故]{2,20}?)可诊断")
REASONING = re.compile(r"依据|为主症|据[^。；;]{1,40}故诊断")  # the note reasons its diagnoses (诊断依据, 依据患儿...,
# 患儿以发热为主症, 据患者肝胆胰脾彩超回报：脂肪肝，故诊断脂肪肝成立)
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


def reasoned_subjects(text: str, evidence: list[Evidence],
                      ends: list[tuple[int, int]] | None = None) -> list[Evidence]:
    """`evidence` with the subject of each object that lies in a reasoning block set to the
    diagnosis the block concludes (at its place in the note); objects after the last conclusion
    (the treatment) keep theirs. `ends`: the note's `conclusions`, when the caller has them."""
    ends = conclusions(text) if ends is None else ends
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


# A note admitted or diagnosed with several diseases (`以“冠心病、心衰、肺部感染”收入`) tells one
# history; its findings belong to the disease the training annotations give them to. A finding
# moves from its subject to another of the note's diseases (the models' subjects and the names of
# its admission and diagnosis statements) when the knowledge scores that one KNOWN_MARGIN higher.
# Names inside one another (结肠癌, 乙状结肠癌) are one disease told twice: no move; nor where the
# object's sentence names its subject (`腹部彩超：1.脂肪肝`: the note ties them), nor for an object
# of a note's reasoning (`conclusions`: the note says itself whose findings they are); the treatment
# after its last conclusion is not told by it (`给予阿托伐他汀调脂，泮托拉唑保护胃黏膜`), and the
# conclusions are candidates.
# The margin, on EMR-RE dev (the models' unseen notes, before the sentence test): 0.5 -> strict F1
# 0.507, 1 -> 0.504, 2 -> 0.490 (from 0.482); on the train notes, with each note's own triples left out of the
# knowledge (the models learned their subjects there): 0.5 -> +0.002, 1 -> +0.007.
KNOWN_MARGIN = 1.0
DISEASE = "疾病"
NOT_BY_KNOWLEDGE = frozenset(("治疗后症状", "同义词", "阶段"))  # told by the treatment; a name's own; a grade or
# stage is told with its disease (高血压病3级), which the knowledge cannot see
STATED_KINDS = ("admission", "diagnosis")  # not a pathology's or an operation's name (腺癌, 胃癌根治术)
LABELLED = re.compile(r"[:：]")  # a name with a report's label is no candidate


def told_together(text: str, ev: Evidence) -> bool:
    """The object's sentence names its subject (`腹部彩超：1.脂肪肝`): the note ties them itself."""
    if ev.object_start is None:
        return False
    begin, end = sentence_of(text, ev.object_start, ev.object_end)
    return ev.subject in text[begin:end]


DENIAL = re.compile(r"(?:否认|无|未)[^，。；,;：:]{0,12}$")
CLAUSE_END = re.compile(r"[，。；,;：:\n]")


def denied(text: str, start: int) -> bool:
    """A denial opens the clause before text[start:] (`否认高血压、[冠心病]`)."""
    begin, _ = sentence_of(text, start, start, CLAUSE_END)
    return bool(DENIAL.search(text[begin:start]))


def known_subjects(text: str, evidence: list[Evidence], knowledge: FindingKnowledge | None,
                   reasoned: list[tuple[int, int]] | None = None) -> list[Evidence]:
    """`evidence` with each finding given to the disease of the note the knowledge gives it to,
    when that one scores KNOWN_MARGIN above its subject (at that disease's place: a subject's
    first, else its statement's). `reasoned`: the note's `conclusions`, when the caller has them."""
    if knowledge is None or not evidence:
        return evidence
    reasoned = conclusions(text) if reasoned is None else reasoned  # the note says whose findings they are
    told_until = reasoned[-1][1] if reasoned else 0  # (reasoned_subjects); the treatment after is not told
    places: dict[str, tuple[int, int]] = {text[a:b]: (a, b) for a, b in reasoned}
    for ev in evidence:  # not a name with a report's label (`左肩正位片:左锁骨远端骨折`)
        if ev.subject_type == DISEASE and ev.subject_start is not None and not LABELLED.search(ev.subject):
            places.setdefault(ev.subject, (ev.subject_start, ev.subject_end))
    for start, end, _ in statement_items(text, STATED_KINDS):
        places.setdefault(text[start:end], (start, end))
    # a past illness (既往冠心病病史5年) owns only its own sentence's objects (etl/notes/history.py); a
    # denied one (否认高血压、冠心病) none
    places = {name: place for name, place in places.items()
              if not named_as_past(text, *place) and not denied(text, place[0])}
    # one told in passing (an ECG's reading) takes only its own sentence's findings
    passing = {name for name, place in places.items() if told_in_passing(text, *place)}
    if len(places) < 2:
        return evidence
    out = []
    for ev in evidence:
        if ev.subject_type == DISEASE and ev.predicate not in NOT_BY_KNOWLEDGE and not told_together(text, ev) \
                and (ev.object_start is None or ev.object_start >= told_until):
            scores = {name: knowledge.score(name, ev.predicate, ev.object) for name in places
                      if name not in passing or name == ev.subject or ev.object_start is None
                      or not outside_its_sentence(text, places[name], (ev.object_start, ev.object_end))}
            best = max(scores, key=scores.__getitem__)
            own = scores.get(ev.subject)
            own = knowledge.score(ev.subject, ev.predicate, ev.object) if own is None else own
            start, end = places[best]
            on_object = ev.object_start is not None and start < ev.object_end and ev.object_start < end
            if best not in ev.subject and ev.subject not in best and scores[best] > own + KNOWN_MARGIN \
                    and not on_object and best != ev.object:  # never a disease of itself
                ev = replace(ev, subject=best, subject_start=start, subject_end=end)
        out.append(ev)
    return out


# A treatment the note gives for a named disease (`非那雄胺片5mg口服1/日，治疗前列腺增生`) is that
# disease's, whatever the models or the knowledge chose: the note says so. The purpose follows the
# treatment in its clause run, after its dose, route and the list's other drugs, with no new order
# or list item between (`给予抗生素、降糖、治疗冠心病`: 抗生素 is not for 冠心病). The disease is
# one the note names as a subject or in a statement (`前列腺增生` of `前列腺增生症`), else a name
# with a disease's ending (DISEASE_ENDING: `治疗精神分裂症`, not `治疗后好转`), at its place after 治疗.
TREATMENTS = frozenset(("药物治疗", "辅助治疗", "手术治疗", "化疗", "放射治疗"))
PURPOSE = re.compile(r"(?:(?!给予|予以|、)[^。；;\n]){0,40}?(?:治疗|控制)([^，。；;,、\s（(等]{2,20})")
PURPOSE_NAME_CHARS = 3  # a purpose's name must match a disease's first characters at least this far
DISEASE_ENDING = re.compile(r"(?:病|症|炎|癌|瘤|增生|结石|骨折|感染|梗死|梗塞|出血|衰竭|综合征|损伤"
                            r"|疝|痔|溃疡|息肉|囊肿|硬化|积液|贫血|高血压|失常|不全|梗阻|狭窄|穿孔|脱垂|突出|血肿)$")


# A drug told with a purpose word that names its disease's kind (`非洛地平降压`, `控制血糖`,
# `普罗帕酮…抗心律失常`), or a supportive treatment that is such a purpose (`平喘`), goes to the
# note's disease of that kind, when the note names one (a subject, a statement's name, a past
# illness named with its history) and its subject is none: the readings found `非洛地平降压` given to
# 脑梗死 and to 支气管扩张症, `阿司匹林抗血小板聚集` to 慢性胃炎, `地西泮镇静` to 支气管肺炎, not to the
# 热性惊厥 beside it. Rules as data: (purpose, the names it points to).
PURPOSE_KINDS = (
    (re.compile(r"降压|调压|降血压|控制血压"), re.compile(r"高血压|血压高")),
    (re.compile(r"降糖|降血糖|控制血糖"), re.compile(r"糖尿病|血糖高")),
    (re.compile(r"调脂|降脂|调节血脂"), re.compile(r"脂血症|血脂|胆固醇")),
    (re.compile(r"抗心律失常"), re.compile(r"心律失常|早搏|房颤|心房纤颤|心动过速")),
    (re.compile(r"抗血小板聚集|稳定斑块"), re.compile(r"脑梗|冠心病|心绞痛|心肌梗|动脉硬化|脑缺血|缺血性")),
    (re.compile(r"减轻心脏负荷|强心"), re.compile(r"心衰|心力衰竭|心功能不全|心脏病|心肌病")),
    (re.compile(r"镇静|止惊|止痉|防止抽搐"), re.compile(r"惊厥|抽搐|癫痫")),
    (re.compile(r"平喘|缓解气道痉挛|解除气道痉挛|扩张气道|减轻气道高敏?反应"),
     re.compile(r"哮喘|喘息|慢性阻塞性肺|慢阻肺|支气管|肺气肿|肺炎")),
    (re.compile(r"止咳化痰|止咳|化痰|祛痰|止咳平喘|润肺化痰"),
     re.compile(r"哮喘|喘息|慢性阻塞性肺|慢阻肺|支气管|慢支|肺气肿|肺炎|肺部感染|上呼吸道|气管炎|咽炎|扁桃体炎|喉炎")),
    (re.compile(r"保护胃[黏粘]膜|护胃|抑酸"), re.compile(r"胃炎|胃溃疡|十二指肠球部溃疡|消化性溃疡|反流性食管炎")),
)
# A drug whose class is its kind, with no purpose word told (`硝苯地平缓释片`, `厄贝沙坦`, `依那普利`:
# antihypertensives; ANNOTATION.md: "an antihypertensive belongs to `高血压`"): EMR-RE gives all 12 such
# drugs of a note that names a hypertension to it. Beta blockers (洛尔) also treat a heart's rhythm: not here.
DRUG_KINDS = ((re.compile(r"(?:地平|沙坦|普利)(?:酯|钠|钾|钙|马来酸盐)?(?:片|胶囊|缓释片|控释片|分散片)?$"),
               re.compile(r"高血压|血压高")),)
PURPOSE_WORD = re.compile(r"[^。；;，,、\n]{0,12}?(" + "|".join(purpose.pattern for purpose, _ in PURPOSE_KINDS) + ")")
KIND_PREDICATES = frozenset(("药物治疗", "辅助治疗"))


def _disease_places(text: str, evidence: list[Evidence]) -> dict[str, tuple[int, int]]:
    """The note's disease names with a place each: its subjects, then its statements' names."""
    places: dict[str, tuple[int, int]] = {}
    for ev in evidence:
        if ev.subject_type == DISEASE and ev.subject_start is not None:
            places.setdefault(ev.subject, (ev.subject_start, ev.subject_end))
    for start, end, _ in statement_items(text):
        places.setdefault(text[start:end], (start, end))
    return places


def _purpose_of_kind(text: str, ev: Evidence, places: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The note's diseases of the kind `ev`'s purpose word names (PURPOSE_KINDS), if any: the word
    after a drug in its clause, or a supportive treatment's own (`平喘`, `抗血小板聚集`); with no word,
    the kind of the drug's class (DRUG_KINDS)."""
    if ev.predicate not in KIND_PREDICATES:
        return {}
    word = PURPOSE_WORD.match(text, ev.object_end)
    told = word.group(1) if word else ev.object
    kind = next((names for purpose, names in PURPOSE_KINDS if purpose.fullmatch(told)), None)
    if kind is None and word is None and ev.predicate == DRUG_PREDICATE:
        kind = next((names for drug, names in DRUG_KINDS if drug.search(ev.object)), None)
    if kind is None:
        return {}
    return {name: place for name, place in places.items() if kind.search(name)}


# An operation named after its disease (`脂肪瘤切除术`, `混合痔切除术`) is that disease's when the
# note names it and the subject does not hold the name (`诊断为：1.混合痔2.左臀部脂肪瘤…行混合痔切除术、
# 脂肪瘤切除术`: the reading found the lipoma's excision given to 混合痔). In EMR-RE, 21 of the 23
# operations whose name's disease part a note's disease holds are that disease's (the other two:
# a valve replacement of 风湿性心脏病).
OPERATION_STEM = re.compile(r"(.{2,10}?)(?:切除|摘除|修补|根治|剥除|结扎|切开|环切|引流|复位|固定|置换|成形|松解)")


def _named_by_operation(ev: Evidence, places: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The note's diseases an operation's name names (OPERATION_STEM), when its subject is none."""
    stem = OPERATION_STEM.match(ev.object) if ev.predicate == OPERATION_PREDICATE else None
    if stem is None or stem.group(1) in ev.subject:
        return {}
    return {name: (start, end) for name, (start, end) in places.items() if stem.group(1) in name
            and not (ev.object_start is not None and ev.object_start <= start and end <= ev.object_end)}  # not
    # the name the operation's own words lend (`行乙状结肠癌根治术`: a statement, etl/notes/conditions.py)


# A stage told right after a disease's name is that disease's (`诊断为：1、慢性阻塞性肺疾病急性加重期2、
# 高血压病3级极高危组`: the `3级` is 高血压病's, the readings found it given to the COPD; EMR-RE: 26 of
# the 27 stages told right after a disease of the note are its).
def _named_right_before(text: str, ev: Evidence, places: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The note's disease whose name ends right where the stage `ev`'s object begins, at that place
    (a statement's item that holds the stage, `高血压病3级极高危组`, gives the name before it)."""
    if ev.object_start is None:
        return {}
    owners = {name: (ev.object_start - len(name), ev.object_start) for name in places
              if len(name) >= PURPOSE_NAME_CHARS and text.endswith(name, 0, ev.object_start)}
    for start, end in places.values():
        if start < ev.object_start < end and ev.object_start - start >= PURPOSE_NAME_CHARS:
            owners.setdefault(text[start:ev.object_start], (start, ev.object_start))
    return owners


def stated_purposes(text: str, evidence: list[Evidence], reasoned: list[tuple[int, int]] | None = None
                    ) -> list[Evidence]:
    """`evidence` with each treatment followed by `治疗X` (PURPOSE) given to the disease X, each
    drug told with a purpose word given to the note's disease of that kind (PURPOSE_KINDS), and each
    operation named after a disease of the note given to it (OPERATION_STEM), each stage told right
    after a disease's name given to it (`高血压病3级`). The
    note's diseases include its reasoning's conclusions (`reasoned`, `conclusions`: `故诊断高血压病3级
    极高危组成立。…非洛地平降压`) and the past illnesses it names with their history."""
    places = _disease_places(text, evidence)
    if evidence:
        for start, end in conclusions(text) if reasoned is None else reasoned:
            places.setdefault(text[start:end], (start, end))
        for history in named_histories(text):
            places.setdefault(history.subject, (history.subject_start, history.subject_end))
    out = []
    for ev in evidence:
        if ev.subject_type != DISEASE or not ev.object_end:
            out.append(ev)
            continue
        purpose = PURPOSE.match(text, ev.object_end) if ev.predicate in TREATMENTS else None
        owners: dict[str, tuple[int, int]] = {}
        if purpose:
            named = purpose.group(1)
            owners = {name: place for name, place in places.items() if len(name) >= PURPOSE_NAME_CHARS
                      and (named.startswith(name) or (len(named) >= PURPOSE_NAME_CHARS and name.startswith(named)))}
            if not owners and DISEASE_ENDING.search(named):
                owners = {named: purpose.span(1)}
        elif ev.predicate == STAGE:
            owners = _named_right_before(text, ev, places)
        else:
            owners = (_purpose_of_kind(text, ev, places) or _named_by_operation(ev, places)
                      or _found_in_its_sentence(text, ev))
        if owners and ev.subject not in owners:
            best = max(owners, key=len)
            ev = replace(ev, subject=best, subject_start=owners[best][0], subject_end=owners[best][1])
        out.append(ev)
    return out


# An earlier event the note tells in its history (`既往16年前于…行剖宫产手术`, `既往慢性咽炎10余年`,
# `青、链霉素类药物过敏`): the assertion stage flags the object historical (etl/models/assertion,
# 既往 / 曾 / …史 in its scope). Given to a current disease (one not flagged historical) that its
# sentence does not name, it is another illness's treatment or no relation at all: 14 asserted
# triples of the shared notes, the operations and complications all wrong when read (EMR-RE dev:
# none). Symptoms, tests and drugs are not judged so: a note's 既往体健 scope runs on into the
# present illness (`既往体健3 患者缘于7小时前…出现脐周疼痛`), a test done before admission is the
# current disease's workup, and a chronic disease's earlier drug is its own (`发现血糖高，曾服用“糖脉康”`).
PAST_EVENTS = frozenset(("手术治疗", "辅助治疗", "化疗", "放射治疗", "并发症", "病理分型", "阶段", "风险评估因素"))


def past_event_of_another(text: str, ev: Evidence) -> bool:
    """`ev`'s object is a past event (its historical flag) of a current disease its sentence does
    not name: left out (see PAST_EVENTS)."""
    return bool(ev.object_historical) and not ev.subject_historical and ev.predicate in PAST_EVENTS \
        and not told_together(text, ev)
