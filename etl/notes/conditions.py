"""The main condition of a note, and the passages the models read.

Why: an admission note names its diagnosis once (`门诊以“乙状结肠腺癌”收入`, `诊断为X`,
`术后病理示X`) and then tells the history, workup and treatment around it over 300-1,000
characters, so most windows hold findings of a disease they never name. CMeIE, which the models
first learned from, gives each text its topic as a prefix (`急性胰腺炎@...`). The pipeline does the
same for notes (issue 27):

1. the span model is asked, in every window of the note, the main-condition question of its
   labels.json (`MAIN_CONDITION_QUERY`), with a low threshold (`CANDIDATE_THRESHOLD`): its answers
   are candidates. The note's own statements of its diagnosis (`STATEMENTS`: `以“X”收入`,
   `诊断为“X”`, `术后病理示X`, `行X根治术`, ...; rules as data) add their items as candidates and a
   bonus to the candidates they hold, the first item most: the guideline takes the
   admission/diagnosis name, which a window-sized model reading one window at a time cannot tell
   from a past illness named as plainly (`2型糖尿病12年`). The best total is the main condition, at
   its best place (`pick_main_condition`), if it reaches MIN_SCORE;
2. every window is then read as `<main condition>@<window>` (`Passage`): the relation classifier
   and both span turns see the main condition as the window's topic, as in CMeIE;
3. a span found in the prefix is the main condition at its place in the note, and a subject equal
   to the main condition's name is placed there too, so one finding found in two overlapping
   windows is one evidence (`Passage.place`).

A note with no answer over the threshold (or a span model without the question) is read as
plain windows, as before.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from etl.notes.history import named_as_past, sentence_of
from etl.windows import Window

TOPIC_MARK = "@"  # CMeIE's topic separator: `急性胰腺炎@...`
MAIN_CONDITION_QUERY = "这份病历的主要诊断是什么？"
MIN_CHARS = 2  # a one-character answer (癌) is never a diagnosis name
CANDIDATE_THRESHOLD = 0.02  # the main-condition answers kept as candidates (then ranked)
# The best total must reach this, else the note has no main condition (read as plain windows): a
# section that names no diagnosis (a physical exam: 肛门无畸形 0.014, 下肢无水肿 0.01 on the
# shared notes) must not lend its windows a junk topic. On EMR-RE dev (every note has one) 3 of
# 79 right answers score below it.
MIN_SCORE = 0.1

# Diagnosis statements: (kind, pattern whose group 1 is the statement's list of names, bonus of a
# candidate inside it, extra bonus of its first item). Quotes may be written “”, "" or \"\".
# The first item's extra bonus is 0.6 for admissions and numbered diagnosis lists (0.3 before): the
# readings found a listed incidental finding the model answers strongly taking a trauma's or an
# obstruction's note (`以1.头皮裂伤2.头皮血肿3.腔隙性脑梗死收入`, `诊断为：1.肠梗阻2.直肠癌麦氏术后3.胃癌`;
# 17 asserted triples of the shared notes changed, most to the first item); EMR-RE dev unchanged,
# train strict F1 0.6648 -> 0.6638 (lenient 0.6967 -> 0.6978).
_OPEN, _CLOSE = r'\\?[“"]', r'\\?[”"]'
_NUMBERED_ITEM = r"\d{1,2}\s*[.、．]\s*[^。；;，,\n？?]{2,30}?(?=\d{1,2}\s*[.、．]|[。；;，,\n？?]|$)"
STATEMENTS = (
    # 以“X”收入 (not 予以“X”: a drug given, `予以“坎地沙坦酯片 每次4mg”`)
    ("admission", re.compile(r"(?<![予给])以\s*" + _OPEN + r'([^”"\\]{1,80})' + _CLOSE), 0.5, 0.6),
    # unquoted: after a department or a word that opens the clause, right after its punctuation or
    # time (`急诊未做特殊处理，以骨盆骨折收入院`, `于2017年1月2日11：27以肠系膜淋巴结炎收入院`), or after
    # what led to it (`门诊检查后以1、不全性肠梗阻2、直肠癌术后收入`); a numbered list may stop at 。
    # or ； between its items (`即以1.头皮裂伤。2.头皮血肿。3.腔隙性脑梗死收住入院`); the admission's time
    # may come before 收 (`以喘息性-支气管炎于2017年02月08日13:58收入院`)
    ("admission", re.compile(r'(?:门诊|急诊|病房|科|遂|故|今|现|拟|后|即|[，,。；;\d:：]|^)以(?![后前上下及来便免])'
                             r'((?:[^，。；,;“”"\\\s]|[。；;](?=\d{1,2}\s*[.、．])){2,60}?)。?(?:于[\d年月日\-\s:：.]+)?(?:介绍)?(?:收|入院)'),
     0.5, 0.6),
    ("diagnosis", re.compile(r"(?:诊断|诊为|考虑|拟诊|拟)[为是:：]?\s*" + _OPEN + r'([^”"\\]{1,80})' + _CLOSE),
     0.3, 0.3),
    # a numbered list without quotes, its numbered items only (`诊断为：1.肠梗阻2.直肠癌麦氏术后3.胃癌。`):
    # it ends where an item is not followed by the next number (`热性惊厥？静点氨曲南`, a new line)
    ("diagnosis", re.compile(r"(?<!鉴别)(?:诊断|诊为)[为是]?[:：]\s*((?:" + _NUMBERED_ITEM + r"[？?]?[；;，,、\s]*)+)"),
     0.3, 0.6),
    # a tumour named by the pathology report (术后病理示X, 病理提示：X), by the note's own judgement
    # (考虑胆囊癌) or by its operation (行直肠癌根治术; the operation's own words, 腹腔镜上 or 远端, left out):
    # oncology notes often have no admission statement
    ("pathology", re.compile(r"病理(?:诊断|结果|类型|报告)?[:：]?(?:示|提示|回报|诊断|为|考虑|结果为)?[为是:：]?\s*"
                             r"(?![示提回为是])([^，。；,;：:（(\s见]{1,30}?(?:癌|瘤))(?![\u4e00-\u9fff]*术|栓)"),
     0.2, 0.0),
    ("diagnosis", re.compile(r"考虑(?:为)?([^，。；,;：:（(\s“”\"]{1,20}?癌)(?![\u4e00-\u9fff]*术)"), 0.2, 0.0),
    ("operation", re.compile(r"(?:行|[+＋])(?:全麻[上下]|接受)?(?:[胸腹]腔镜[上下]?)?(?:远端|近端|全)?"
                             r"([^，。；,;：:（(\s+＋“”\"]{1,20}?癌)(?:扩大|姑息|联合)?(?:根治|切除)"),
     0.25, 0.0),
)
ITEM_SCORE = 0.3  # the least model score a statement item counts with (answered weakly, or not at all)
_ITEM_SEPARATOR = re.compile(r"[，、；;,：:。\s]+|\d{1,2}\s*[、.．)）]")
_PENDING = "待查"  # 头晕待查: a symptom under investigation
_NOT_A_NAME = re.compile(r"[未非无]|不(?!全|完全|稳定|规则|典型|明)|否认|支持|结果|提示")  # not 不全性肠梗阻
_OPERATED = "术后"
# where a listed name ends though its item goes on: a hedge and its alternative (`脑梗死？TIA`), what
# follows an operation (`宫颈癌术后化疗`), an accompanying problem (`胃癌伴转移`, `肺癌并两肺转移`; not
# 合并), a remark in brackets (`瘢痕子宫（前次剖宫产）`), a stage or grade (`慢性肾脏病5期`,
# `原发性高血压3级极高危`): no EMR-RE subject holds ？, 术后, a bracket, a stage or a grade
_NAME_ENDS = re.compile(r"[？?（(]|术后|伴(?!有)|(?<!合)并|\d+期|[\dⅠⅡⅢⅣ]+级"
                        r"|等+$")  # or 等 closing it (高血压、糖尿病等)
# a pregnancy's description before the item's name (`妊娠38+2周孕3产0LO先兆临产` -> 先兆临产; alone,
# `妊娠40+6周孕1产0LO`, no name): no EMR-RE subject holds one
_PREGNANCY = re.compile(r"(?:妊娠|孕)\d+(?:\+\d+)?周(?:孕\d+产\d+)?(?:[LR][OS][APT]?)?")


@dataclass(frozen=True)
class MainCondition:
    name: str
    start: int  # place in the note, end exclusive: note[start:end] == name
    end: int
    score: float
    stated: bool = False  # the text's own CMeIE-style topic (`X@...`): the text is read as a CMeIE text


@dataclass(frozen=True)
class Passage:
    """What the models read for one window: the window, after `prefix` when the note has a main
    condition. Offsets of spans in `text` map back to the note through `place`."""
    window: Window
    condition: MainCondition | None = None

    @property
    def of_a_note(self) -> bool:
        """Read as a note's passage (decoded at the notes' threshold): a main condition was found;
        a text that states its own topic (`X@...`) is a CMeIE text."""
        return self.condition is not None and not self.condition.stated

    @property
    def read_as_note(self) -> bool:
        """Its findings go through the notes' rules (etl/notes/reading.py, `merge_triples`): any text but a
        CMeIE-style one that states its own topic, with or without a main condition (a note's
        physical exam or treatment course names no diagnosis, and says `心影`, `叩清音` all the same)."""
        return self.condition is None or not self.condition.stated

    @property
    def prefix(self) -> str:
        if self.condition is None or self.window.text.startswith(self.condition.name + TOPIC_MARK):
            return ""  # a CMeIE-style text that already carries its topic is read as it is
        return self.condition.name + TOPIC_MARK

    @property
    def text(self) -> str:
        return self.prefix + self.window.text

    def place(self, start: int, end: int, name: str | None = None) -> tuple[int, int] | None:
        """Note offsets of the span text[start:end]; None for a span across the topic mark.
        A span that is the main condition (`name`, by string) goes to its place in the note."""
        condition, width = self.condition, len(self.prefix)
        if condition is not None and name == condition.name:
            return condition.start, condition.end
        if end <= width:
            if width == 0:
                return None
            return condition.start + start, condition.start + end  # a part of the prefix
        if start < width:
            return None
        return self.window.start + start - width, self.window.start + end - width


def passages(windows: Sequence[Window], condition: MainCondition | None) -> list[Passage]:
    return [Passage(window, condition) for window in windows]


def statement_items(text: str, kinds: Iterable[str] | None = None) -> list[tuple[int, int, float]]:
    """(start, end, bonus) of every name listed in a diagnosis statement of `text` (STATEMENTS, or
    those of `kinds`): the statement's list split at 、，；：, spaces and numbering (`1、`), a trailing
    ？ or 等 left out."""
    return [item for listed in statement_lists(text, kinds) for item in listed]


def statement_lists(text: str, kinds: Iterable[str] | None = None) -> list[list[tuple[int, int, float]]]:
    """`statement_items`, one list per statement."""
    lists = []
    for kind, pattern, bonus, first_bonus in STATEMENTS:
        if kinds is not None and kind not in kinds:
            continue
        for match in pattern.finditer(text):
            at, listed = match.start(1), []
            for part in _ITEM_SEPARATOR.split(match.group(1)):
                lead = _PREGNANCY.match(part)
                name = _strip_trailing(part[lead.end():] if lead else part)
                if _a_statement_name(name):
                    start = text.index(part, at) + (lead.end() if lead else 0)
                    listed.append((start, start + len(name)))
                if part:
                    at = text.index(part, at) + len(part)
            # `腹痛待查：阑尾炎？`: the working diagnosis after a 待查 item is the note's
            first = 1 if len(listed) > 1 and text[listed[0][0]:listed[0][1]].endswith(_PENDING) else 0
            lists.append([(start, end, bonus + (first_bonus if i == first else 0.0))
                          for i, (start, end) in enumerate(listed)])
    return lists


_STATED_TOPIC = re.compile(r"([^@\s，。；,;]{2,40})" + TOPIC_MARK)


def stated_topic(text: str) -> MainCondition | None:
    """The topic a CMeIE-style text states itself (`急性胰腺炎@...`): its main condition, no model
    asked, so such a text is read exactly as written (a statement inside it, `行胃癌根治术`, must not
    lend it a second topic)."""
    match = _STATED_TOPIC.match(text)
    if match is None or not _a_name(match.group(1)):
        return None
    return MainCondition(match.group(1), 0, match.end(1), 1.0, stated=True)


def pick_main_condition(text: str, windows: Sequence[Window], answers: Iterable[Sequence]) -> MainCondition | None:
    """The note's main condition: `answers[i]` are the main-condition answers (PointerSpan:
    start, end, score; window offsets) found in `windows[i]`. A name's score is its best answer;
    a name inside a diagnosis statement (`statement_items`) gets that statement's bonus on top of
    its answer's score or ITEM_SCORE, whichever is higher (the model may answer a name weakly in a
    window that does not show the statement). The best total wins (ties:
    the earliest place); its place is the statement's when it has one, else its best answer's. A
    past illness, a name told in passing (`told_in_passing`) or an operated disease listed beside
    another (`2、直肠癌术后`) is no candidate, and a `待查` complaint yields to a
    statement's diagnosis."""
    scores: dict[str, tuple[float, int, int]] = {}  # name -> (score, start, end)
    for window, spans in zip(windows, answers):
        for span in spans:
            start, end = window.start + span.start, window.start + span.end
            name = text[start:end]
            if not _a_name(name) or named_as_past(text, start, end) or told_in_passing(text, start, end):
                continue  # a past illness (既往糖尿病7年, 冠心病史), the exam's bruise, an ECG's reading is not
                # what the note is about
            best = scores.get(name)
            if best is None or span.score > best[0] or (span.score == best[0] and start < best[1]):
                scores[name] = (float(span.score), start, end)
    # an operated disease a statement lists beside the admission's new problem (`以1、不全性肠梗阻2、
    # 直肠癌术后收入`) is its history, not what the note is about: no candidate (no EMR-RE statement
    # lists one so beside another)
    lists = statement_lists(text)
    operated = set()
    for listed in lists:
        names = {text[start:end]: text.startswith(_OPERATED, end) for start, end, _ in listed}
        if not all(names.values()):
            operated |= {name for name, after in names.items() if after}
    scores = {name: score for name, score in scores.items() if name not in operated}
    items = [item for listed in lists for item in listed if text[item[0]:item[1]] not in operated]
    totals = dict(scores)
    stated: dict[str, int] = {}  # name -> where a statement names it last
    for start, end, bonus in items:
        name = text[start:end]
        stated[name] = max(start, stated.get(name, start))
        score = max(scores[name][0], ITEM_SCORE) if name in scores else ITEM_SCORE
        if name not in totals or score + bonus > totals[name][0]:
            totals[name] = (score + bonus, start, end)
    if not totals:
        return None
    # a complaint under investigation (`门诊以腹痛待查收住`) yields to the diagnosis a statement of the
    # same note names after it, once found (`门诊以胆囊结石伴急性胆囊炎收住院`), not to one told before
    # it that did not settle it (`卫生院…诊断为“1.慢性胃窦炎…”…门诊以“腹痛待查”收入`)
    name, (score, start, end) = min(totals.items(), key=lambda kv: (-kv[1][0], kv[1][1]))
    if name.endswith(_PENDING):
        found = {other for other, at in stated.items() if not other.endswith(_PENDING) and at > start}
        if found:
            totals = {other: total for other, total in totals.items() if other in found}
            name, (score, start, end) = min(totals.items(), key=lambda kv: (-kv[1][0], kv[1][1]))
    return MainCondition(name, start, end, round(score, 6)) if score >= MIN_SCORE else None


# A lesion the physical exam finds where it looks (`左面部可见一4X3cm皮肤挫伤`, `右肘部有一处挫伤`,
# `双膝散在挫伤痕`) is no diagnosis of the note: it is described, not diagnosed, and owns nothing
# beyond its own sentence (etl/notes/attribution.py, `passing_mention_elsewhere`). Nor is what a tracing
# reads (`4、患者入院前门诊检查心电图示：窦性心动过速，肢导低电压倾向`): readings of the shared notes
# found a treatment section's routine workup and its cervical traction given to such names
# (`窦性心动过速 -实验室检查-> 血脂`, `频发房性早搏 -药物治疗-> 中药`). A statement of the note naming
# it (`以心房纤颤收入`) still makes it a candidate (`pick_main_condition`).
SEEN_ON_EXAM = re.compile(r"(?:可见|有一处|散在)[^，。；;,：:\n]{0,14}$")
READ_ON_ECG = re.compile(r"心电图[^。；;，,\n]{0,8}?(?:示|提示|回报|报告|结果|显示|[:：])"
                         r"(?:(?!CT|MR|超|片|镜|示|回报)[^。；;\n]){0,30}$")  # not a CT's finding told after it
_CLAUSE_END = re.compile(r"[，。；;,：:\n]")


def seen_on_exam(text: str, start: int, end: int) -> bool:
    """text[start:end] is a lesion the exam sees: SEEN_ON_EXAM in its clause before it."""
    clause, _ = sentence_of(text, start, end, _CLAUSE_END)
    return bool(SEEN_ON_EXAM.search(text, clause, start))


def told_in_passing(text: str, start: int, end: int) -> bool:
    """text[start:end] is a lesion the exam sees or what an ECG reads (READ_ON_ECG in its
    sentence before it)."""
    if seen_on_exam(text, start, end):
        return True
    sentence, _ = sentence_of(text, start, end)
    return bool(READ_ON_ECG.search(text, sentence, start))


def _strip_trailing(part: str) -> str:
    """An item's name: the item up to where its name ends (_NAME_ENDS)."""
    cut = _NAME_ENDS.search(part, MIN_CHARS)
    return part[:cut.start()] if cut else part


def _a_name(name: str) -> bool:
    """At least MIN_CHARS letters (Chinese or Latin: SIRS), no padding: not a date or a number."""
    return name == name.strip() and sum(ch.isalpha() for ch in name) >= MIN_CHARS


def _a_statement_name(name: str) -> bool:
    """A name a statement may give: no negation or report wording in it (病理：未见癌,
    免疫组化结果支持为低分化癌, 肺部肿物非恶性肿瘤 are no diagnoses)."""
    return _a_name(name) and not _NOT_A_NAME.search(name)
