"""coqidetop's XML protocol (Coq 8.16), as typed calls and replies.

Coq answers each call with zero or more `<feedback>` elements followed by one
`<value>`. The stream is not one XML document, and Coq writes `&nbsp;`, which
is not an XML entity, so replies are cut at `</value>` and `&nbsp;` is turned
into a real no-break space before parsing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

from proofsmith.checker.backend import SessionCrashed
from proofsmith.checker.types import Goal, Hypothesis, render_goals

# ---------------------------------------------------------------- calls


def _string(s: str) -> str:
    return f"<string>{escape(s)}</string>"


def _state(sid: int) -> str:
    return f'<state_id val="{sid}"/>'


def init_call() -> str:
    return '<call val="Init"><option val="none"/></call>'


def about_call() -> str:
    return '<call val="About"><unit/></call>'


def add_call(sentence: str, after: int, verbose: bool = False) -> str:
    # Add takes ((((text, edit_id), (state_id, verbose)), bp), (line_nb, bol_pos)) since 8.15.
    # verbose: Coq reports what the sentence declares ("x is defined") as info feedback.
    return (
        '<call val="Add"><pair><pair><pair><pair>'
        f"{_string(sentence)}<int>-1</int></pair>"
        f'<pair>{_state(after)}<bool val="{"true" if verbose else "false"}"/></pair></pair>'
        "<int>0</int></pair><pair><int>0</int><int>0</int></pair></pair></call>"
    )


def goal_call() -> str:
    return '<call val="Goal"><unit/></call>'


def edit_at_call(sid: int) -> str:
    return f'<call val="Edit_at">{_state(sid)}</call>'


def status_call(force: bool = True) -> str:
    return f'<call val="Status"><bool val="{"true" if force else "false"}"/></call>'


def query_call(command: str, at: int) -> str:
    return f'<call val="Query"><pair><route_id val="0"/><pair>{_string(command)}{_state(at)}</pair></pair></call>'


# ---------------------------------------------------------------- replies


@dataclass(frozen=True)
class Message:
    level: str  # "error", "warning", "notice", "info", "debug"
    text: str


@dataclass(frozen=True)
class Reply:
    ok: bool
    value: ET.Element  # the <value> element
    messages: tuple[Message, ...]  # feedback messages received during this call
    error: str = ""  # for ok == False
    error_state: int | None = None  # last good state Coq reports with a failure

    def notices(self) -> str:
        return "\n".join(m.text for m in self.messages if m.level == "notice")


@dataclass(frozen=True)
class CoqGoals:
    foreground: tuple[Goal, ...]
    background: int  # unfocused goals (open bullets, braces)
    shelved: int
    given_up: int


VALUE_END = b"</value>"


def _child(elem: ET.Element, path: str) -> ET.Element:
    """`elem.find(path)`; a reply without it is not what coqidetop sends (SessionCrashed naming it)."""
    found = elem.find(path)
    if found is None:
        raise SessionCrashed(f"coqidetop sent a <{elem.tag}> reply without {path}")
    return found


def _int_val(elem: ET.Element) -> int:
    """The integer `val` attribute of a state id."""
    val = elem.get("val")
    if val is None or not val.lstrip("-").isdigit():
        raise SessionCrashed(f"coqidetop sent a <{elem.tag}> without an integer val")
    return int(val)


def richpp_text(elem: ET.Element | None) -> str:
    """The plain text of a pretty-printed Coq term (tags dropped, no-break spaces normalised)."""
    if elem is None:
        return ""
    return "".join(elem.itertext()).replace("\xa0", " ")


# Characters XML 1.0 forbids; Coq writes them unescaped when a message or goal holds one
# (a string literal with a control character), and the reply is then not well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def parse_reply(raw: bytes) -> Reply:
    """Parse the bytes of one reply: feedbacks followed by exactly one `<value>`."""
    body = raw.replace(b"&nbsp;", "\u00a0".encode())
    try:
        doc = ET.fromstring(b"<r>" + body + b"</r>")
    except ET.ParseError:
        # recover: invalid UTF-8 and characters XML forbids become U+FFFD, the rest is parsed as is
        text = _NOT_XML.sub("\ufffd", body.decode("utf-8", errors="replace"))
        doc = ET.fromstring(("<r>" + text + "</r>").encode())
    messages = []
    value = None
    for child in doc:
        if child.tag == "feedback":
            content = child.find("feedback_content")
            if content is not None and content.get("val") == "message":
                msg = content.find("message")
                level_el = msg.find("message_level") if msg is not None else None
                messages.append(
                    Message(
                        level=level_el.get("val", "") if level_el is not None else "",
                        text=richpp_text(msg.find("richpp") if msg is not None else None),
                    )
                )
        elif child.tag == "value":
            value = child
    if value is None:
        raise ValueError("reply without <value>")
    if value.get("val") == "good":
        return Reply(True, value, tuple(messages))
    sid_el = value.find("state_id")
    return Reply(
        False,
        value,
        tuple(messages),
        error=richpp_text(value.find("richpp")).strip() or "Coq reported a failure without a message",
        error_state=_int_val(sid_el) if sid_el is not None else None,
    )


def added_state(reply: Reply) -> int:
    """The new state id in the answer to Add."""
    sid = reply.value.find("pair/state_id")
    if sid is None:
        raise ValueError("Add reply without a state id")
    return _int_val(sid)


def init_state(reply: Reply) -> int:
    return _int_val(_child(reply.value, "state_id"))


def coq_version(reply: Reply) -> str:
    return _child(reply.value, "coq_info/string").text or ""


def _parse_hypothesis(text: str) -> Hypothesis:
    colon = text.find(" : ")
    define = text.find(" := ")
    if define != -1 and (colon == -1 or define < colon):
        names, rest = text[:define], text[define + 4 :]
        body, _, typ = rest.rpartition(" : ")
        return Hypothesis(tuple(n.strip() for n in names.split(",")), typ.strip(), body.strip())
    if colon == -1:
        return Hypothesis((text.strip(),), "")
    return Hypothesis(tuple(n.strip() for n in text[:colon].split(",")), text[colon + 3 :].strip())


def _parse_goal(elem: ET.Element) -> Goal:
    hyps = tuple(_parse_hypothesis(richpp_text(h)) for h in _child(elem, "list").findall("richpp"))
    concl = elem.findall("richpp")
    return Goal(hyps, richpp_text(concl[0]) if concl else "")


def goals_text(goals: CoqGoals) -> str:
    """What a model reads for a proof state: the focused goals, then how many wait out of focus."""
    text = render_goals(goals.foreground)
    pending = pending_goals(goals)
    if pending:
        text += f"\n\n({pending} more goal{'s' if pending > 1 else ''} not in focus)"
    return text


def pending_goals(goals: CoqGoals) -> int:
    return goals.background + goals.shelved


def parse_goals(reply: Reply) -> CoqGoals | None:
    """Goals from the answer to Goal; None when no proof is open."""
    opt = reply.value.find("option")
    if opt is None or opt.get("val") == "none":
        return None
    lists = _child(opt, "goals").findall("list")
    foreground = tuple(_parse_goal(g) for g in lists[0].findall("goal"))
    background = sum(len(pair.findall(".//goal")) for pair in lists[1].findall("pair"))
    return CoqGoals(
        foreground=foreground,
        background=background,
        shelved=len(lists[2].findall("goal")),
        given_up=len(lists[3].findall("goal")),
    )
