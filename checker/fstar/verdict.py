"""Judging F*'s answer to the push of a candidate.

`proved` only when the push succeeded, no issue and no message is an error,
and no warning reports an admitted or assumed fact: `--report_assumes warn`
makes F* raise warning 335 (Warning_WarnOnUse) for every `assume`, admitted
query and escape-hatch use, and the FStarDataSet harness fails a candidate on
it (its commit f845e90, "Fail proofs with assume"). Other warnings (272,
"Top-level let-bindings must be total") do not fail a candidate. The numbers
that count as assumptions are a setting (`fstar_assume_warnings`), since F*
renumbers its warnings from time to time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from proofsmith.checker.fstar.goals import proof_state_goals
from proofsmith.checker.fstar.process import Answer
from proofsmith.checker.fstar.protocol import IssuesResponse, Message, ProofStateMessage, is_error_message, message_text
from proofsmith.checker.types import Verdict, render_goals


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    messages: tuple[str, ...]


def judge_push(answer: Answer, assume_warnings: Iterable[int]) -> Judgement:
    response = answer.response
    assume_warnings = set(assume_warnings)
    issues = response.issues() if isinstance(response, IssuesResponse) else []
    messages = tuple(i.located() for i in issues) + tuple(
        _describe(m) for m in answer.messages if m.level in ("error", "warning", "proof-state")
    )
    if response.status == "protocol-violation":
        return Judgement(Verdict.ERROR, f"F* refused the request: {response.failure_text()}", messages)
    text = response.failure_text()
    if text is not None:  # a generic failure ("Current module unset"), not a judgement of the candidate
        return Judgement(Verdict.ERROR, f"F* could not check the candidate: {text}", messages)
    errors = [i for i in issues if i.is_error]
    if errors:
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        return Judgement(Verdict.FAILED, errors[0].located() + more, messages)
    error_messages = [m for m in answer.messages if is_error_message(m)]
    if error_messages:
        return Judgement(Verdict.FAILED, f"F* reported an error: {message_text(error_messages[0])}", messages)
    if not response.ok:
        return Judgement(Verdict.FAILED, "F* rejected the candidate (status failure, no issue given)", messages)
    assumed = [i for i in issues if i.number in assume_warnings]
    if assumed:
        return Judgement(
            Verdict.FAILED,
            f"relies on an admitted or assumed fact (warning {assumed[0].number}): {assumed[0].located()}",
            messages,
        )
    return Judgement(Verdict.PROVED, "", messages)


def _describe(message: Message) -> str:
    if isinstance(message, ProofStateMessage):
        state = message.contents
        return f"proof state ({state.label}):\n{render_goals(proof_state_goals(state))}"
    return message_text(message)
