"""The results file: append + flush, torn last line after a kill, lock, corruption."""

import json

import pytest

from proofsmith.formats.run_records import ResultsFile, ResultsFileError, read_results


def test_append_then_reopen_returns_every_record(tmp_path):
    path = tmp_path / "results.jsonl"
    with ResultsFile(path) as f:
        assert f.open() == []
        f.append({"name": "a", "verdict": "proved"})
        f.append({"name": "b", "verdict": "failed"})
        # flushed: another reader sees both lines before the file is closed
        assert [r["name"] for r in read_results(path)] == ["a", "b"]
    with ResultsFile(path) as f:
        assert [r["name"] for r in f.open()] == ["a", "b"]


def test_a_torn_last_line_is_dropped_and_truncated(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"name": "a", "verdict": "proved"}\n{"name": "b", "verd')
    assert [r["name"] for r in read_results(path)] == ["a"]
    with ResultsFile(path) as f:
        assert [r["name"] for r in f.open()] == ["a"]
        f.append({"name": "b", "verdict": "failed"})
    lines = path.read_text().splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["a", "b"]


def test_a_second_writer_is_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    with ResultsFile(path) as first:
        first.open()
        with pytest.raises(ResultsFileError, match="another proofsmith eval is writing to this run"):
            ResultsFile(path).open()
    with ResultsFile(path) as again:  # the lock went with the first writer
        again.open()


@pytest.mark.parametrize(
    "content,message",
    [
        (b'{"name": "a"}\nnot json\n{"name": "c"}\n', r"results.jsonl:2:1: not valid JSON"),
        (b'{"name": "a"}\n{"name": "a"}\n', r"results.jsonl:2: duplicate result for 'a' \(first on line 1\)"),
        (b'{"verdict": "proved"}\n', r"results.jsonl:1: not a result record"),
    ],
)
def test_corruption_beyond_a_torn_line_is_reported_with_the_line(tmp_path, content, message):
    path = tmp_path / "results.jsonl"
    path.write_bytes(content)
    with pytest.raises(ResultsFileError, match=message):
        ResultsFile(path).open()
