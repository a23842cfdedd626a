"""bench/assertion_sample.py on the triples `etl run --triples-out` writes for 4 notes."""
from __future__ import annotations

import collections
import re

import pyarrow.parquet as pq
from click.testing import CliRunner
import pytest

import assertion_sample
from etl.cli import cli


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow

STATUS = "(present|absent|possible)"
HEAD = re.compile(rf"^ ?\d+ .+\({STATUS}\) -.+-> .+\({STATUS}\)$")


def test_sample_shows_each_kind_in_its_note(shipped_models, bench_notes, tmp_path, capsys):
    triples = tmp_path / "t.parquet"
    result = CliRunner().invoke(cli, ["--set", f"run.reports_dir={tmp_path / 'reports'}",
                                      "--set", f"run.quarantine_dir={tmp_path / 'quarantine'}",
                                      "run", "--input", str(bench_notes), "--sink", "none", "--full",
                                      "--triples-out", str(triples)])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(triples).to_pylist()
    kinds = collections.Counter(assertion_sample.kind(r) for r in rows)
    assert kinds["present"] > 0 and kinds["absent"] > 0  # the notes deny findings (无发热)
    capsys.readouterr()

    assertion_sample.main([str(triples), "--notes", str(bench_notes), "--n", "2", "--seed", "3"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{len(rows)} triples: {dict(sorted(kinds.items()))}"
    for role, line in zip(("subject", "object"), out[1:3]):
        assert line == f"{role}s: {dict(collections.Counter(r[role + '_assertion'] for r in rows).most_common())}"
    shown: dict[str, list[tuple[str, str]]] = {}  # kind -> (the triple's line, its line in the note)
    for line in out[3:]:
        if line.startswith("===== "):
            kind = line.removeprefix("===== ")
            shown[kind] = []
        elif line.startswith("     "):
            shown[kind][-1] = (shown[kind][-1][0], line)
        else:
            shown[kind].append((line, ""))
    assert list(shown) == ["present", "absent", "possible"]
    doc_ids = {r["doc_id"] for r in rows}
    for kind, triples_shown in shown.items():
        assert len(triples_shown) == min(2, kinds[kind])
        for head, in_note in triples_shown:
            ends = HEAD.match(head)  # `n subject(its assertion) -predicate-> object(its assertion)`
            assert ends, head
            assert assertion_sample.kind({"subject_assertion": ends[1], "object_assertion": ends[2]}) == kind
            doc_id, rest = in_note.split()[0], in_note.split(" S: ", 1)[1]
            assert doc_id in doc_ids
            assert rest.count("[") == 2 and " O: " in rest  # each end bracketed in its note
