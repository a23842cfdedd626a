"""The pretraining corpus: all the Chinese medical text we have, minus the dev split.

Sources (paths from `settings.data`): the unlabelled passages (`corpus`), the CMeIE *train* texts
and the unlabelled CMeIE texts, CMeEE train and dev sentences, the clinical notes, and more text of
the notes' register (issue 27): the EMR-RE *train* notes, the CHIP-CDEE *train* sentences and the
tumour reports of `emr_attr`. Each text is split into sentences (the pipeline's own
`sentence_bounds`), cleaned (control characters removed, whitespace folded), deduplicated across
all sources, and dropped when it shares a 20-character run with a CMeIE dev text or an EMR-RE dev
note (or, if shorter, occurs inside one): the dev figures must not measure sentences the encoder
has read. Consecutive kept sentences of one text are packed into
lines of at most `max_chars` characters, so the MLM sees context beyond one short sentence.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from etl.data.overlap import OverlapFilter
from etl.windows import sentence_bounds

# the readers of `source_texts`, in corpus order (`etl pretrain corpus --source` picks some)
SOURCE_NAMES = ("corpus", "cmeie_train", "cmeie_unlabeled", "cmeee_train", "cmeee_dev", "notes",
                "emr_re_train", "cdee_train", "tumor_reports")
MIN_CHARS = 4  # shorter sentences ("无。", "1.") teach nothing and are mostly duplicates
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Control/format characters removed, whitespace runs folded to one space, ends stripped."""
    text = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return _SPACE.sub(" ", text).strip()


def sentences(text: str, max_chars: int) -> list[str]:
    """Cleaned sentences of `text`; one longer than `max_chars` is cut into pieces that fit."""
    out = []
    for start, end in sentence_bounds(text):
        sentence = clean(text[start:end])
        out.extend(sentence[i:i + max_chars] for i in range(0, len(sentence), max_chars))
    return [s for s in out if len(s) >= MIN_CHARS]


def pack(parts: Iterable[str], max_chars: int) -> Iterator[str]:
    """Join consecutive sentences into lines of at most `max_chars` characters."""
    line = ""
    for part in parts:
        if line and len(line) + len(part) > max_chars:
            yield line
            line = ""
        line += part
    if line:
        yield line


@dataclass
class SourceStats:
    texts: int = 0
    sentences: int = 0
    duplicates: int = 0
    dev_overlap: int = 0
    kept: int = 0
    chars: int = 0


@dataclass
class CorpusReport:
    out: str
    lines: int = 0
    chars: int = 0
    sources: dict[str, SourceStats] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"out": self.out, "lines": self.lines, "chars": self.chars,
                "sources": {name: asdict(stats) for name, stats in self.sources.items()}}


def source_texts(settings, names: Iterable[str] = SOURCE_NAMES) -> dict[str, Callable[[], Iterable[str]]]:
    """Named readers of the sources' texts (read lazily, in SOURCE_NAMES order); `names` picks some,
    e.g. only the CMeIE texts for task-adaptive pretraining."""
    from etl.data.cmeee import read_cmeee
    from etl.data.cmeie import read_cmeie
    from etl.data.split import load_split

    data = settings.data

    def passages():
        with open(data.corpus, encoding="utf-8") as handle:
            yield from (line.rstrip("\n") for line in handle)

    def notes():
        import pyarrow.parquet as pq

        yield from (t for t in pq.read_table(data.notes, columns=[settings.input.text_column])
                    .column(0).to_pylist() if t)

    def emr_re_train():
        from etl.data.emr_re import read_notes

        yield from (n.text for n in read_notes(data.emr_re_train))

    def cdee_train():
        from etl.data.cdee import read_cdee

        yield from (s.text for s in read_cdee(data.cdee_train))

    def tumor_reports():
        from etl.data.files import open_text

        with open_text(data.tumor_reports) as handle:  # text = findings <TAB> conclusion
            yield from (part for line in handle if line.strip()
                        for part in json.loads(line).get("text", "").split("\t") if part)

    readers = {
        "corpus": passages,
        "cmeie_train": lambda: (s.text for s in load_split(settings)[0]),
        "cmeie_unlabeled": lambda: (s.text for s in read_cmeie(data.cmeie_unlabeled)),
        "cmeee_train": lambda: (s.text for s in read_cmeee(data.cmeee_train)),
        "cmeee_dev": lambda: (s.text for s in read_cmeee(data.cmeee_dev)),
        "notes": notes,
        "emr_re_train": emr_re_train,
        "cdee_train": cdee_train,
        "tumor_reports": tumor_reports,
    }
    wanted = set(names)
    unknown = wanted - set(readers)
    if unknown:
        raise ValueError(f"unknown corpus sources {sorted(unknown)}; known: {', '.join(SOURCE_NAMES)}")
    return {name: read for name, read in readers.items() if name in wanted}


def build_corpus(settings, out: str | Path, max_chars: int = 126,
                 sources: dict[str, Callable[[], Iterable[str]]] | None = None,
                 dev_texts: Iterable[str] | None = None) -> CorpusReport:
    """Write the corpus to `out` (one packed line per row) and `out`.json (the report).

    `sources` (default: every `source_texts`) and `dev_texts` (default: the project's CMeIE dev
    split and the EMR-RE dev notes) can be narrowed or replaced (task-adaptive corpora, tests).
    """
    if dev_texts is None:
        from etl.data.emr_re import read_notes
        from etl.data.split import load_split

        dev_texts = [s.text for s in load_split(settings)[1]]
        if Path(settings.data.emr_re_dev).is_file():
            dev_texts += [n.text for n in read_notes(settings.data.emr_re_dev)]
    dev = OverlapFilter(dev_texts, contained=True)
    seen: set[str] = set()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = CorpusReport(str(out))
    partial = out.with_name(out.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        for name, read in (sources or source_texts(settings)).items():
            stats = report.sources[name] = SourceStats()
            for text in read():
                stats.texts += 1
                kept = []
                for sentence in sentences(text, max_chars):
                    stats.sentences += 1
                    if sentence in seen:
                        stats.duplicates += 1
                    elif dev.overlaps(sentence):
                        stats.dev_overlap += 1
                    else:
                        seen.add(sentence)
                        kept.append(sentence)
                stats.kept += len(kept)
                for line in pack(kept, max_chars):
                    handle.write(line + "\n")
                    report.lines += 1
                    stats.chars += len(line)
            report.chars += stats.chars
    partial.replace(out)  # an interrupted build never leaves a truncated corpus behind
    out.with_name(out.name + ".json").write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n",
                                                 encoding="utf-8")
    return report


def read_corpus(path: str | Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]
