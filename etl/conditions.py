"""The main condition of a note, and the passages the models read.

Why: an admission note names its diagnosis once (`门诊以“乙状结肠腺癌”收入`, `诊断为X`,
`术后病理示X`) and then tells the history, workup and treatment around it over 300-1,000
characters, so most windows hold findings of a disease they never name. CMeIE, which the models
first learned from, gives each text its topic as a prefix (`急性胰腺炎@...`). The pipeline does the
same for notes (issue 27):

1. the span model is asked, in every window of the note, the main-condition question of its
   labels.json (`MAIN_CONDITION_QUERY`); the best-scoring answer over all windows is the note's
   main condition, at that place (`pick_main_condition`);
2. every window is then read as `<main condition>@<window>` (`Passage`): the relation classifier
   and both span turns see the main condition as the window's topic, as in CMeIE;
3. a span found in the prefix is the main condition at its place in the note, and a subject equal
   to the main condition's name is placed there too, so one finding found in two overlapping
   windows is one evidence (`Passage.place`).

A note with no answer over the threshold (or a span model without the question) is read as
plain windows, as before.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from etl.windows import Window

TOPIC_MARK = "@"  # CMeIE's topic separator: `急性胰腺炎@...`
MAIN_CONDITION_QUERY = "这份病历的主要诊断是什么？"
MIN_CHARS = 2  # a one-character answer (癌) is never a diagnosis name


@dataclass(frozen=True)
class MainCondition:
    name: str
    start: int  # place in the note, end exclusive: note[start:end] == name
    end: int
    score: float


@dataclass(frozen=True)
class Passage:
    """What the models read for one window: the window, after `prefix` when the note has a main
    condition. Offsets of spans in `text` map back to the note through `place`."""
    window: Window
    condition: MainCondition | None = None

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


def pick_main_condition(text: str, windows: Sequence[Window], answers: Iterable[Sequence]) -> MainCondition | None:
    """The best answer to the main-condition question over the note's windows: `answers[i]` are
    the spans (PointerSpan: start, end, score; window offsets) found in `windows[i]`. A name found
    several times keeps its best score; ties go to the earliest place."""
    best: MainCondition | None = None
    for window, spans in zip(windows, answers):
        for span in spans:
            start, end = window.start + span.start, window.start + span.end
            name = text[start:end]
            if len(name.strip()) < MIN_CHARS or name != name.strip():
                continue
            if best is None or span.score > best.score or (span.score == best.score and start < best.start):
                best = MainCondition(name, start, end, float(span.score))
    return best
