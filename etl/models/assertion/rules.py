"""ConText-style assertion rules for Chinese clinical text (after NegEx and medspaCy's ConText).

Rules are data: `context_rules.tsv` beside this module, one rule a line, tab-separated, with a
header line naming the columns (`#` lines and blank lines are ignored):

    cue    category    direction    max_scope    comment

- cue: a literal (`无`, `（-）`), or a regular expression between slashes (`/无痛(?!经)/`).
- category:
    negated     the finding is absent        (无, 否认, 未见 ...; after it: 阴性, (-))
    possible    the finding is uncertain     (考虑, 疑似, 待排 ...; after it: ？, 可能)
    family      it concerns a relative       (其父, 母亲, 家族史)
    historical  it is past history           (既往, 曾, ...病史)
    pseudo      looks like a cue, is none    (未分化, 无力, 无痛, 无明显诱因): it hides every cue
                it overlaps and does nothing else
    terminate   ends every cue's scope       (但, 伴, ， 。 ；)
    list        joins the items of a list    (、 及 和 与 或): no cue, no terminator; lets a
                comma-continued negation reach every item of a bare list (below)
- direction (the first four categories only; empty for pseudo/terminate/list): `forward` (the cue
  precedes the finding: 无腹痛), `backward` (it follows: 腹痛阴性) or `both`.
- max_scope (optional): most characters between cue and finding; empty = DEFAULT_MAX_SCOPE.

How a mention is judged (why):
- Text and cues are normalised one character for one character (full-width ASCII forms to
  half-width, lower case), so offsets stay those of the original text and `（-）` matches `(-)`.
  Regular expressions match the normalised text and must be written in normalised form.
- Every occurrence of every cue is found; overlapping matches keep the longest (不除外 beats 除外,
  不伴 beats the terminator 伴; a pseudo-trigger wins a tie), then pseudo-triggers are dropped.
- Status: the nearest negated/possible cue whose scope reaches the mention decides. A forward cue
  reaches a mention after it, a backward cue one before it, when no terminator lies between and
  the gap is at most max_scope. List separators (、 及 和) are not terminators, so 无腹痛、恶心
  negates both. Nearest wins (the earlier on a tie) so each clause is judged by its own cue.
- A bare clause continues the negation of the clause before it. Notes write lists of denied
  findings with commas as well as 、 (`无恶心，呕吐，无胸闷，气短`): a mention right after a comma
  that is its whole clause (up to a suffix such as 等 or 病史, BARE_SUFFIXES), or one item of a
  clause that is a list of short items joined by `list` marks and closed by such a suffix
  (`否认高血压，糖尿病及冠心病史`), whose clause before opens with a forward negation cue (or is
  itself a short cue-less clause continuing one, up to MAX_CHAIN clauses back), is absent, and
  that cue decides it. A clause ending in a state word (`腹部柔软`, `双肺叩音清`, STATE_ENDINGS)
  states its own finding (exam notes: `未见胃肠型及蠕动波，腹部柔软，无压痛`), so it never continues
  a list. `无发热，咳嗽3天` (咳嗽 is not its whole clause), `伴恶心，呕吐` and `无发热，稍咳嗽、咳痰`
  (a list with no closing suffix) stay present. A forward cue right after the closing suffix
  starts a statement of its own: `否认高血压，糖尿病及冠心病史否认传染病史`. On CHIP-CDEE such
  findings are rare (6 in train and dev, 5 of them labelled absent); in the CCKS notes they are
  the commonest error.
- A cue inside the mention decides first, whatever its direction: the span model sometimes
  extracts `无咳嗽` or `大小便无明显异常` as the finding itself, and such a finding is denied
  (`leading_cue` says how much of `无咳嗽` to trim to store `咳嗽`).
- experiencer (family) and historical are flags found by the same scope test, independent of the
  status; `cue` names only the cue that decided the status.

Versions: a rule set's `fingerprint` hashes its file (a model folder's version.txt hashes the
folder's copy), and the code of this engine is hashed into the version a loaded assertion model
carries (model.py: CODE_MODULES, code_fingerprint), so an edit of either re-judges every document.
After one, `etl train assertion --remeasure WHY` re-measures the shipped folder with it.
"""
from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from etl.errors import DataError
from etl.records import ABSENT, PRESENT
from etl.records import POSSIBLE as POSSIBLE_STATUS

DEFAULT_RULES_PATH = Path(__file__).with_name("context_rules.tsv")
DEFAULT_MAX_SCOPE = 40  # characters between a cue and the finding it modifies

NEGATED, POSSIBLE, FAMILY, HISTORICAL, PSEUDO, TERMINATE, LIST = (
    "negated", "possible", "family", "historical", "pseudo", "terminate", "list")
MODIFIERS = (NEGATED, POSSIBLE, FAMILY, HISTORICAL)  # categories with a direction and a scope
CATEGORIES = MODIFIERS + (PSEUDO, TERMINATE, LIST)
FORWARD, BACKWARD, BOTH = "forward", "backward", "both"
DIRECTIONS = (FORWARD, BACKWARD, BOTH)
COLUMNS = ("cue", "category", "direction", "max_scope", "comment")
REQUIRED_COLUMNS = ("cue", "category", "direction")

# The status a deciding cue gives its mention (the values evidence and the triples file carry).
STATUS_OF = {NEGATED: ABSENT, POSSIBLE: POSSIBLE_STATUS}

# Bare-clause continuation of a negated clause (see the module docstring).
CLAUSE_COMMAS = ",，"
BARE_SUFFIXES = ("", "等", "等不适", "等症状", "病史", "史")  # what may follow a finding in a bare clause
BARE_CLAUSE_CHARS = 6  # an intermediate clause of a chain: at most this many Chinese characters, no cue
_CHINESE = re.compile(r"[\u4e00-\u9fff]+")
MAX_CHAIN = 6  # clauses walked back to find the negation that opens the list
LIST_ITEM_CHARS = 10  # an item of a bare list other than the mention: at most this many Chinese characters
STATE_ENDINGS = ("软", "清", "正常", "平坦", "对称", "良好", "可", "稳定", "规则", "居中")


def normalise(text: str) -> str:
    """Full-width ASCII forms to half-width and lower case, never changing the length."""
    out = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char).lower()
        out.append(folded if len(folded) == 1 else char)
    return "".join(out)


@dataclass(frozen=True)
class Rule:
    cue: str  # as written in the file
    category: str
    direction: str  # "" for pseudo and terminate
    max_scope: int
    line: int  # line number in the rules file, for messages
    comment: str = ""

    @property
    def is_pattern(self) -> bool:
        return len(self.cue) > 2 and self.cue.startswith("/") and self.cue.endswith("/")


@dataclass(frozen=True)
class CueMark:
    """One cue occurrence in a text (character offsets, end exclusive)."""

    start: int
    end: int
    category: str
    direction: str = ""
    max_scope: int = DEFAULT_MAX_SCOPE


@dataclass(frozen=True)
class _TextCues:
    """The resolved cues of one text, indexed so that judging a mention only looks at the cues
    near it (a note's mentions are judged in O(log n) each, not against every cue)."""

    marks: list[CueMark]  # every cue but pseudo-triggers and list marks, in text order (they never overlap)
    modifiers: list[CueMark]  # the negated / possible / family / historical ones
    modifier_starts: list[int]
    modifier_ends: list[int]
    terminator_starts: list[int]
    terminator_ends: list[int]
    list_marks: list[CueMark]  # 、 及 和 ...: only the bare-list continuation reads them
    list_starts: list[int]

    @classmethod
    def of(cls, marks: list[CueMark]) -> "_TextCues":
        modifiers = [m for m in marks if m.category in MODIFIERS]
        terminators = [m for m in marks if m.category == TERMINATE]
        lists = [m for m in marks if m.category == LIST]
        return cls([m for m in marks if m.category != LIST], modifiers,
                   [m.start for m in modifiers], [m.end for m in modifiers],
                   [t.start for t in terminators], [t.end for t in terminators],
                   lists, [m.start for m in lists])

    def items(self, start: int, end: int, keep: tuple[int, int] | None = None) -> list[tuple[int, int]]:
        """text[start:end] cut at its list marks (not those inside `keep`): each piece's (start, end)."""
        inside = (lambda m: keep[0] <= m.start and m.end <= keep[1]) if keep else (lambda m: False)
        near = self.list_marks[bisect_left(self.list_starts, start):bisect_left(self.list_starts, end)]
        cuts = [(m.start, m.end) for m in near if m.end <= end and not inside(m)]
        bounds = [start] + [c for cut in cuts for c in cut] + [end]
        return list(zip(bounds[::2], bounds[1::2]))

    def terminated(self, gap_start: int, gap_end: int) -> bool:
        """Whether a terminator lies wholly inside text[gap_start:gap_end]."""
        i = bisect_left(self.terminator_starts, gap_start)
        return i < len(self.terminator_starts) and self.terminator_ends[i] <= gap_end

    def terminator_before(self, position: int) -> tuple[int, int] | None:
        """The last terminator ending at or before `position`."""
        i = bisect_right(self.terminator_ends, position) - 1
        return (self.terminator_starts[i], self.terminator_ends[i]) if i >= 0 else None

    def terminator_after(self, position: int) -> tuple[int, int] | None:
        """The first terminator starting at or after `position`."""
        i = bisect_left(self.terminator_starts, position)
        return (self.terminator_starts[i], self.terminator_ends[i]) if i < len(self.terminator_starts) else None

    def modifiers_in(self, start: int, end: int) -> list[CueMark]:
        """The modifier cues lying wholly inside [start, end)."""
        return self.modifiers[bisect_left(self.modifier_starts, start):bisect_left(self.modifier_starts, end)]


@dataclass(frozen=True)
class RuleAssertion:
    status: str  # "present" | "absent" | "possible"
    experiencer: str = "patient"  # "patient" | "family"
    historical: bool = False
    cue: str | None = None  # the text of the cue that decided the status
    cue_start: int | None = None
    cue_end: int | None = None


def _parse_line(raw: str, columns: list[str], where: str, line: int) -> Rule:
    cells = raw.split("\t")
    if len(cells) > len(columns):
        raise DataError(f"{where} line {line}: {len(cells)} tab-separated cells, the header "
                        f"has {len(columns)} columns ({', '.join(columns)})")
    values = dict(zip(columns, (c.strip() for c in cells)))
    cue = values.get("cue", "")
    category = values.get("category", "")
    direction = values.get("direction", "")
    if not cue:
        raise DataError(f"{where} line {line}: empty cue")
    if category not in CATEGORIES:
        raise DataError(f"{where} line {line}: unknown category {category!r} for cue {cue!r} "
                        f"(expected one of {', '.join(CATEGORIES)})")
    if category in MODIFIERS and direction not in DIRECTIONS:
        raise DataError(f"{where} line {line}: category {category} needs a direction "
                        f"({', '.join(DIRECTIONS)}), got {direction!r} for cue {cue!r}")
    if category not in MODIFIERS and direction:
        raise DataError(f"{where} line {line}: a {category} rule has no direction, got "
                        f"{direction!r} for cue {cue!r}")
    scope_text = values.get("max_scope", "")
    if scope_text:
        if not scope_text.isdigit() or int(scope_text) < 1:
            raise DataError(f"{where} line {line}: max_scope must be a positive whole number of "
                            f"characters, got {scope_text!r} for cue {cue!r}")
        max_scope = int(scope_text)
    else:
        max_scope = DEFAULT_MAX_SCOPE
    rule = Rule(cue, category, direction, max_scope, line, values.get("comment", ""))
    if rule.is_pattern:
        pattern = cue[1:-1]
        if normalise(pattern) != pattern:
            raise DataError(f"{where} line {line}: the pattern {cue!r} must be written in normalised "
                            f"form (half-width punctuation, lower case): {normalise(pattern)!r}")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise DataError(f"{where} line {line}: bad regular expression {cue!r}: {exc}") from None
        if compiled.fullmatch(""):
            raise DataError(f"{where} line {line}: the pattern {cue!r} matches the empty string")
    return rule


def parse_rules(content: str, where: str = "rules") -> list[Rule]:
    """Rules from the text of a rules file; a bad line is a DataError naming the line."""
    columns: list[str] | None = None
    rules: list[Rule] = []
    seen: dict[str, Rule] = {}
    for line, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if columns is None:
            columns = [c.strip() for c in raw.split("\t")]
            unknown = [c for c in columns if c not in COLUMNS]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if unknown or missing or len(set(columns)) != len(columns):
                raise DataError(f"{where} line {line}: the header must name the tab-separated "
                                f"columns {', '.join(REQUIRED_COLUMNS)} (optional: max_scope, "
                                f"comment), got {columns}")
            continue
        rule = _parse_line(raw, columns, where, line)
        key = rule.cue if rule.is_pattern else normalise(rule.cue)
        if key in seen:
            raise DataError(f"{where} line {line}: the cue {rule.cue!r} is already defined on line "
                            f"{seen[key].line}")
        seen[key] = rule
        rules.append(rule)
    if columns is None:
        raise DataError(f"{where}: no header line and no rules")
    return rules


class ContextRules:
    """A loaded rule set: finds cues in a text and judges mentions by them."""

    def __init__(self, rules: Sequence[Rule], content: bytes = b""):
        import ahocorasick

        self.rules = list(rules)
        # what the fingerprint hashes: the file's bytes, or the rules themselves when built in code
        self._content = content or "\n".join(
            "\t".join((r.cue, r.category, r.direction, str(r.max_scope))) for r in self.rules
        ).encode("utf-8")
        self._automaton = ahocorasick.Automaton()
        self._patterns: list[tuple[re.Pattern, Rule]] = []
        for rule in self.rules:
            if rule.is_pattern:
                self._patterns.append((re.compile(rule.cue[1:-1]), rule))
            else:
                literal = normalise(rule.cue)
                self._automaton.add_word(literal, (len(literal), rule))
        if len(self._automaton):
            self._automaton.make_automaton()
        self._widest = max((r.max_scope for r in self.rules if r.category in MODIFIERS), default=0)
        self._last: tuple[str, _TextCues] | None = None  # the last text's cues (one entry, see _cues)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ContextRules":
        path = Path(path) if path is not None else DEFAULT_RULES_PATH
        try:
            content = path.read_bytes()
            text = content.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read the assertion rules {path}: {exc}") from None
        return cls(parse_rules(text, where=str(path)), content)

    def fingerprint(self) -> str:
        """12 hex digits of the sha256 of the rules file: a changed rule set changes the
        assertion model's version."""
        return hashlib.sha256(self._content).hexdigest()[:12]

    # -- finding cues -----------------------------------------------------------------------

    def _matches(self, text: str) -> list[tuple[int, int, Rule]]:
        norm = normalise(text)
        found: list[tuple[int, int, Rule]] = []
        if len(self._automaton):
            for last, (length, rule) in self._automaton.iter(norm):
                found.append((last + 1 - length, last + 1, rule))
        for pattern, rule in self._patterns:
            found.extend((m.start(), m.end(), rule) for m in pattern.finditer(norm) if m.end() > m.start())
        return found

    def _resolved(self, text: str) -> list[CueMark]:
        """Non-overlapping matches, longest first (pseudo-triggers win ties), pseudo included."""
        found = sorted(self._matches(text),
                       key=lambda m: (-(m[1] - m[0]), m[2].category != PSEUDO, m[0]))
        taken = [False] * (len(text) + 1)
        kept: list[CueMark] = []
        for start, end, rule in found:
            if any(taken[start:end]):
                continue
            for i in range(start, end):
                taken[i] = True
            kept.append(CueMark(start, end, rule.category, rule.direction, rule.max_scope))
        kept.sort(key=lambda m: m.start)
        return kept

    def _cues(self, text: str) -> _TextCues:
        # The pipeline asks assess_many, leading_cue and cue_marks about the same text in a row:
        # remember the last one. One tuple, read and replaced whole, so threads may share it.
        last = self._last
        if last is not None and last[0] == text:
            return last[1]
        cues = _TextCues.of([m for m in self._resolved(text) if m.category != PSEUDO])
        self._last = (text, cues)
        return cues

    def cue_marks(self, text: str) -> list[CueMark]:
        """Every cue in the text after pseudo-trigger removal, in text order."""
        return list(self._cues(text).marks)

    # -- judging mentions ---------------------------------------------------------------------

    @staticmethod
    def _distance(mark: CueMark, start: int, end: int, cues: _TextCues) -> int | None:
        """Characters between a cue and the mention when the cue's scope reaches it, else None.
        0 when the cue lies (partly) inside the mention; None for a backward word cue that closes
        the mention's own name (`头晕待查`, `性质待定`: the mention names the pending investigation,
        a symptom the note states; EMR-RE annotates all 18 such subjects present). A `？` inside a
        mention (`肝脓肿？`) still hedges it."""
        if mark.start > start and mark.end == end and mark.direction == BACKWARD and mark.end - mark.start > 1:
            return None
        if mark.start < end and mark.end > start:
            return 0
        if mark.end <= start and mark.direction in (FORWARD, BOTH):
            gap_start, gap_end = mark.end, start
        elif mark.start >= end and mark.direction in (BACKWARD, BOTH):
            gap_start, gap_end = end, mark.start
        else:
            return None
        if gap_end - gap_start > mark.max_scope:
            return None
        if cues.terminated(gap_start, gap_end):
            return None
        return gap_end - gap_start + 1

    def _assess(self, text: str, cues: _TextCues, start: int, end: int) -> RuleAssertion:
        if not (0 <= start < end <= len(text)):
            raise ValueError(f"mention offsets ({start}, {end}) outside a text of {len(text)} "
                             f"characters")
        best: tuple[int, CueMark] | None = None
        family = historical = False
        # only cues that can reach the mention: ending at most the widest scope before it,
        # starting at most that far after it (cues never overlap, so ends are sorted too)
        first = bisect_left(cues.modifier_ends, start - self._widest)
        last = bisect_right(cues.modifier_starts, end + self._widest)
        for mark in cues.modifiers[first:last]:
            distance = self._distance(mark, start, end, cues)
            if distance is None:
                continue
            if mark.category == FAMILY:
                family = True
            elif mark.category == HISTORICAL:
                historical = True
            elif best is None or distance < best[0]:
                best = (distance, mark)
        if best is None:
            opener = self._continued(text, cues, start, end)
            if opener is None:
                return RuleAssertion(PRESENT, "family" if family else "patient", historical)
            best = (0, opener)
        mark = best[1]
        return RuleAssertion(STATUS_OF[mark.category], "family" if family else "patient",
                             historical, text[mark.start:mark.end], mark.start, mark.end)

    @staticmethod
    def _bare_list(text: str, cues: _TextCues, start: int, end: int,
                   mention: tuple[int, int] | None = None) -> bool:
        """Whether text[start:end] is a bare clause (one short item of Chinese characters, or the
        mention, up to a BARE_SUFFIX) or a bare list: such items joined by list marks and closed
        by a suffix (`糖尿病及冠心病史`, `呕血、黑便等`). Without the closing suffix a list is not
        bare: `稍咳嗽、咳痰`, `有胸闷、心悸` state findings. A `mention` must be one whole item
        (any text, no state ending; list marks inside it do not cut it)."""
        stop = start + len(text[start:end].rstrip())
        if mention is not None:  # a mention may end in whitespace; "" then still fits
            stop = max(stop, mention[1])
        # the longest suffix that leaves the mention whole (冠心病史: 史, not 病史)
        suffix = max((s for s in BARE_SUFFIXES if text[start:stop].endswith(s)
                      and (mention is None or stop - len(s) >= mention[1])), key=len)
        pieces = cues.items(start, stop - len(suffix), keep=mention)
        if len(pieces) > 1 and not suffix:
            return False
        limit = LIST_ITEM_CHARS if len(pieces) > 1 else BARE_CLAUSE_CHARS
        for a, b in pieces:
            if mention is not None and a <= mention[0] and mention[1] <= b:
                if (text[a:mention[0]].strip() or text[mention[1]:b].strip()
                        or text[mention[0]:mention[1]].strip().endswith(STATE_ENDINGS)):
                    return False
                mention = None
            elif len(text[a:b].strip()) > limit or not _CHINESE.fullmatch(text[a:b].strip()):
                return False
        return mention is None

    @classmethod
    def _continued(cls, text: str, cues: _TextCues, start: int, end: int) -> CueMark | None:
        """The negation cue a bare clause or bare list item continues (module docstring), or None."""
        comma = cues.terminator_before(start)
        if comma is None or text[comma[0]:comma[1]] not in CLAUSE_COMMAS:
            return None
        after = cues.terminator_after(end)
        clause_end = after[0] if after else len(text)
        # a forward cue right after a closing suffix opens a statement of its own, no punctuation
        # between: 糖尿病及冠心病史否认传染病史 (not 食欲无影响: there the cue is the clause's verb)
        for mark in cues.modifiers_in(end, clause_end):
            if mark.direction in (FORWARD, BOTH):
                if text[end:mark.start].rstrip().endswith(tuple(s for s in BARE_SUFFIXES if s)):
                    clause_end = mark.start
                break
        if not cls._bare_list(text, cues, comma[1], clause_end, (start, end)):
            return None
        for _ in range(MAX_CHAIN):
            before = cues.terminator_before(comma[0])
            clause_start = before[1] if before else 0
            clause = text[clause_start:comma[0]]
            opening = clause_start + len(clause) - len(clause.lstrip())
            inside = cues.modifiers_in(clause_start, comma[0])
            if inside:
                first = inside[0]
                negation = first.category == NEGATED and first.direction in (FORWARD, BOTH)
                return first if negation and first.start == opening else None
            if (before is None or text[before[0]:before[1]] not in CLAUSE_COMMAS
                    or not cls._bare_list(text, cues, clause_start, comma[0])):
                return None
            comma = before
        return None

    def assess(self, text: str, start: int, end: int) -> RuleAssertion:
        """The assertion of the mention text[start:end]."""
        return self._assess(text, self._cues(text), start, end)

    def assess_many(self, text: str, spans: Iterable[tuple[int, int]]) -> list[RuleAssertion]:
        """The assertions of several mentions of one text (its cues are found once)."""
        cues = self._cues(text)
        return [self._assess(text, cues, start, end) for start, end in spans]

    def leading_cue(self, text: str, start: int, end: int) -> int:
        """How many characters at the start of text[start:end] are forward negation/uncertainty
        cues (1 for 无咳嗽, 4 for 未见明显异常), so the finding can be stored as 咳嗽. Never the
        whole mention: a mention that is only a cue gives 0."""
        cues = self._cues(text)
        position = start
        for mark in cues.modifiers[bisect_left(cues.modifier_starts, start):]:
            if (mark.start != position or mark.end > end
                    or mark.category not in STATUS_OF or mark.direction == BACKWARD):
                break
            position = mark.end
        return position - start if position < end else 0
