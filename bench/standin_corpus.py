"""A stand-in premise corpus built from the installed Coq standard library's sources.

Until a full `proofsmith trace --library stdlib` output is at hand, the
retrieval latency benchmark needs a corpus of the real size and shape. This
one has the stdlib's real file import graph (from `coqdep`, plus the implicit
`Coq.Init.Prelude` of every file outside Init/) and its declarations as found
by a lexical scan of the .v files (comments blanked, the `Module`/`End` nesting
followed, constructors of inductive types included). It is NOT a trace: the
scan misses declarations made by commands it does not parse and may
mis-delimit odd sentences, which does not matter for timing or for the shape
of the accessibility sets, but it carries no proofs, so it has no split files.

    .venv/bin/python bench/standin_corpus.py --out .cache/standin-stdlib
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from proofsmith.checker.coq.guard import THEOREM_KEYWORDS
from proofsmith.formats.json_files import write_jsonl
from proofsmith.retrieval.corpus import file_record

DECL_KEYWORDS = "|".join([
    *sorted(THEOREM_KEYWORDS), "Definition", "Fixpoint", "CoFixpoint", "Inductive", "CoInductive", "Variant",
    "Record", "Structure", "Class", "Instance", "Let", "Axiom", "Parameter", "Conjecture",
])
DECL = re.compile(
    rf"(?m)^[ \t]*(?:#\[[^\]]*\][ \t]*)?(?:(?:Local|Global|Polymorphic|Program)[ \t]+)*"
    rf"(?P<kind>{DECL_KEYWORDS})[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_']*)"
)
MODULE = re.compile(r"(?m)^[ \t]*(?:Module|Section)(?:[ \t]+(?:Type|Import|Export))?[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_']*)")
END = re.compile(r"(?m)^[ \t]*End[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_']*)[ \t]*\.")
SENTENCE_END = re.compile(r"\.(?=\s|$)")
CONSTRUCTOR = re.compile(r"(?:\||:=)\s*(?P<name>[A-Za-z_][A-Za-z0-9_']*)\s*:")


def blank_comments(text: str) -> str:
    """Comments (nested) replaced by spaces, newlines kept, so offsets stay valid."""
    out = list(text)
    depth, i = 0, 0
    while i < len(text) - 1:
        pair = text[i : i + 2]
        if pair == "(*":
            depth += 1
        if depth:
            out[i] = out[i] if text[i] == "\n" else " "
        if pair == "*)" and depth:
            out[i + 1] = " "
            depth -= 1
            i += 2
            continue
        i += 1
    return "".join(out)


def position(line_starts: list[int], offset: int) -> list[int]:
    import bisect

    line = bisect.bisect_right(line_starts, offset) - 1
    return [line + 1, offset - line_starts[line]]


def scan_file(path: Path, logical: str) -> list[dict]:
    text = blank_comments(path.read_text(encoding="utf-8", errors="replace"))
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    events = [(m.start(), "decl", m) for m in DECL.finditer(text)]
    events += [(m.start(), "open", m) for m in MODULE.finditer(text)]
    events += [(m.start(), "end", m) for m in END.finditer(text)]
    events.sort(key=lambda e: e[0])
    stack: list[tuple[str, bool]] = []  # (name, is_module)
    premises, seen = [], set()
    for start, what, m in events:
        if what == "open":
            is_module = not m.group(0).lstrip().startswith("Section")
            # `Module M := ...` and `Module M. ... End M.` both open a name space here;
            # one-line module definitions end at once.
            rest = text[m.end() : m.end() + 200]
            if ":=" in rest.split(".")[0]:
                continue
            stack.append((m.group("name"), is_module))
        elif what == "end":
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == m.group("name"):
                    del stack[k:]
                    break
        else:
            stop = SENTENCE_END.search(text, m.end())
            end = stop.end() if stop else len(text)
            code = " ".join(text[start:end].split())
            prefix = ".".join([logical] + [name for name, is_module in stack if is_module])
            kind = m.group("kind")
            names = [m.group("name")]
            if kind in ("Inductive", "CoInductive", "Variant"):
                names += [c.group("name") for c in CONSTRUCTOR.finditer(code)]
            for name in names:
                full = f"{prefix}.{name}"
                if full in seen:
                    continue
                seen.add(full)
                premises.append({
                    "full_name": full,
                    "code": code[:2000],
                    "start": position(line_starts, start),
                    "end": position(line_starts, end),
                    "kind": kind,
                })
    return premises


def stdlib_root() -> Path:
    where = subprocess.run(["coqc", "-where"], capture_output=True, text=True, check=True).stdout.strip()
    return Path(where) / "theories"


def build(out: Path) -> Path:
    root = stdlib_root()
    files = sorted(root.rglob("*.v"))
    deps = subprocess.run(
        ["coqdep", "-R", str(root), "Coq", *map(str, files)], capture_output=True, text=True, check=True
    ).stdout
    rel = lambda p: str(Path(p).relative_to(root))  # noqa: E731
    imports: dict[str, list[str]] = {}
    for line in deps.splitlines():
        targets, _, sources = line.partition(":")
        first = targets.split()[0] if targets.split() else ""
        if not first.endswith(".vo"):
            continue
        me = rel(first[:-1])
        imports[me] = sorted({rel(s[:-1]) for s in sources.split() if s.endswith(".vo")} - {me})
    prelude = "Init/Prelude.v"
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for f in files:
        path = rel(f)
        deps_of = set(imports.get(path, []))
        if not path.startswith("Init/"):
            deps_of.add(prelude)
        logical = "Coq." + path[:-2].replace("/", ".")
        records.append(file_record(path, sorted(deps_of), scan_file(f, logical)))
    write_jsonl(out / "corpus.jsonl", records)
    return out / "corpus.jsonl"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    path = build(args.out)
    print(f"wrote {path}")
