"""Lean checking on a Kimina Lean Server (project-numina/kimina-lean-server), for scale on other machines.

The server keeps warm Lean REPLs keyed by header and answers batches of
snippets over HTTP: `POST /api/check` (current) or `POST /verify` (the
older endpoint, which servers still accept). Both answer with the REPL's
command response per snippet, which this module parses into the same typed
models as the local REPL backend (checker.lean.protocol).

A check sends the header, the theorem with its proof (after the same guard
as the local backend) and `#print axioms NAME` as one snippet, so the server
judges exactly what a local session would and the verdict is read the same
way. The server offers no proof states, so this backend has no interactive
session.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, TypeVar, Union

import httpx
from pydantic import Discriminator, Tag, ValidationError

from proofsmith.checker.backend import Checker, CheckerUnavailable, ProofSession, ResultCallback
from proofsmith.checker.lean import guard
from proofsmith.checker.lean.protocol import CommandResponse, ReplError, ReplModel
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import CheckerInfo, CheckResult, ProofTask, Verdict

HTTP_MARGIN_S = 30.0  # beyond the Lean timeout, for queueing on the server


def _answer_kind(data: Any) -> str:
    return "error" if isinstance(data, dict) and "message" in data else "response"


_Answer = TypeVar("_Answer", bound=ReplModel)

class TimedCommandResponse(CommandResponse):
    time: float | None = None


class TimedReplError(ReplError):
    time: float | None = None


# ---------------------------------------------------------------- POST /api/check


class Snippet(ReplModel):
    id: str
    code: str


class CheckRequest(ReplModel):
    snippets: list[Snippet]
    timeout: int = 30
    debug: bool = False
    reuse: bool = True
    infotree: str | None = None


class Diagnostics(ReplModel):
    repl_uuid: str | None = None
    cpu_max: float | None = None
    memory_max: float | None = None


class SnippetResult(ReplModel):
    id: str
    time: float = 0.0
    error: str | None = None
    response: Annotated[
        Union[Annotated[CommandResponse, Tag("response")], Annotated[ReplError, Tag("error")]],
        Discriminator(_answer_kind),
    ] | None = None
    diagnostics: Diagnostics | None = None


class CheckResponse(ReplModel):
    results: list[SnippetResult]


# ---------------------------------------------------------------- POST /verify (older servers)


class VerifyCode(ReplModel):
    custom_id: str
    proof: str | None = None
    code: str | None = None


class VerifyRequest(ReplModel):
    codes: list[VerifyCode]
    timeout: int = 300
    infotree_type: str | None = None
    disable_cache: bool = False


class VerifyResult(ReplModel):
    custom_id: str
    error: str | None = None
    response: Annotated[
        Union[Annotated[TimedCommandResponse, Tag("response")], Annotated[TimedReplError, Tag("error")]],
        Discriminator(_answer_kind),
    ] | None = None


class VerifyResponse(ReplModel):
    results: list[VerifyResult]


# ---------------------------------------------------------------- outcomes


class Outcome(str, Enum):
    """What the server made of one snippet."""

    CHECKED = "checked"
    CHECKED_WITH_WARNINGS = "checked with warnings"
    SORRY = "uses sorry"
    LEAN_ERROR = "lean error"
    REPL_ERROR = "repl error"
    TIMED_OUT = "timed out"
    SERVER_ERROR = "server error"


@dataclass(frozen=True)
class KiminaResult:
    id: str
    outcome: Outcome
    time_s: float | None
    response: CommandResponse | None = None
    error: str = ""

    @classmethod
    def judge(cls, id: str, error: str | None, response: CommandResponse | ReplError | None, time_s: float | None) -> KiminaResult:
        if error:
            outcome = Outcome.TIMED_OUT if "timed out" in error.lower() else Outcome.SERVER_ERROR
            return cls(id, outcome, time_s, None, error)
        if response is None:
            return cls(id, Outcome.SERVER_ERROR, time_s, None, "the server sent neither a response nor an error")
        if isinstance(response, ReplError):
            return cls(id, Outcome.REPL_ERROR, time_s, None, response.message)
        if response.errors():
            outcome = Outcome.LEAN_ERROR
        elif response.uses_sorry():
            outcome = Outcome.SORRY
        elif response.warnings():
            outcome = Outcome.CHECKED_WITH_WARNINGS
        else:
            outcome = Outcome.CHECKED
        return cls(id, outcome, time_s, response)

    @classmethod
    def from_check(cls, result: SnippetResult) -> KiminaResult:
        return cls.judge(result.id, result.error, result.response, result.time)

    @classmethod
    def from_verify(cls, result: VerifyResult) -> KiminaResult:
        response = result.response
        return cls.judge(result.custom_id, result.error, response, response.time if response is not None else None)


class KiminaError(RuntimeError):
    """The server could not be reached or answered something that is not a result."""


class KiminaClient:
    """Batches of Lean snippets to a Kimina server; `/api/check` first, `/verify` if the server is older."""

    def __init__(self, url: str, api_key: str | None = None, http: httpx.Client | None = None):
        self.url = url.rstrip("/")
        headers = {"X-Auth-Token": f"Bearer {api_key}"} if api_key else {}
        self._http = http or httpx.Client(base_url=self.url, headers=headers)
        self.endpoint: str | None = None  # "/api/check" or "/verify", learnt on first use

    def close(self) -> None:
        self._http.close()

    def reachable(self) -> bool:
        try:
            self._http.get("/", timeout=10)
        except httpx.HTTPError:
            return False
        return True

    def run(self, snippets: Sequence[tuple[str, str]], timeout_s: float) -> list[KiminaResult]:
        """Check `(id, code)` snippets; results come back in the same order."""
        if self.endpoint != "/verify":
            try:
                results = self.check(snippets, timeout_s)
                self.endpoint = "/api/check"
                return results
            except _NotFound:
                self.endpoint = "/verify"
        return self.verify(snippets, timeout_s)

    def check(self, snippets: Sequence[tuple[str, str]], timeout_s: float) -> list[KiminaResult]:
        request = CheckRequest(snippets=[Snippet(id=i, code=c) for i, c in snippets], timeout=_seconds(timeout_s))
        answer = self._post("/api/check", request, CheckResponse, timeout_s)
        return self._in_order(snippets, [KiminaResult.from_check(r) for r in answer.results])

    def verify(self, snippets: Sequence[tuple[str, str]], timeout_s: float) -> list[KiminaResult]:
        request = VerifyRequest(codes=[VerifyCode(custom_id=i, code=c) for i, c in snippets], timeout=_seconds(timeout_s))
        answer = self._post("/verify", request, VerifyResponse, timeout_s)
        return self._in_order(snippets, [KiminaResult.from_verify(r) for r in answer.results])

    def _post(self, path: str, request: ReplModel, answer_type: type[_Answer], timeout_s: float) -> _Answer:
        body = request.model_dump(mode="json", exclude_none=True)
        try:
            reply = self._http.post(path, json=body, timeout=timeout_s + HTTP_MARGIN_S)
        except httpx.HTTPError as exc:
            raise KiminaError(f"Kimina server at {self.url}: {type(exc).__name__}: {exc}") from None
        if reply.status_code == 404:
            raise _NotFound(path)
        if reply.status_code != 200:
            raise KiminaError(f"Kimina server at {self.url}{path} answered {reply.status_code}: {reply.text[:300]}")
        try:
            return answer_type.model_validate_json(reply.content)
        except ValidationError as exc:
            raise KiminaError(f"unexpected answer from {self.url}{path}: {exc}") from None

    @staticmethod
    def _in_order(snippets: Sequence[tuple[str, str]], results: list[KiminaResult]) -> list[KiminaResult]:
        by_id = {r.id: r for r in results}
        missing = [i for i, _ in snippets if i not in by_id]
        if missing:
            raise KiminaError(f"the server returned no result for {', '.join(missing[:5])}")
        return [by_id[i] for i, _ in snippets]


class _NotFound(KiminaError):
    pass


def _seconds(timeout_s: float) -> int:
    return max(1, int(round(timeout_s)))


# ---------------------------------------------------------------- the batched checker


class KiminaChecker(Checker):
    def __init__(self, settings: CheckerSettings | None = None, client: KiminaClient | None = None):
        self.settings = settings or CheckerSettings()
        self.client = client or KiminaClient(self.settings.kimina_url, self.settings.kimina_api_key)
        if not self.client.reachable():
            self.client.close()
            raise CheckerUnavailable(
                f"no Kimina Lean Server answers at {self.settings.kimina_url}: start one "
                "(github.com/project-numina/kimina-lean-server) and set PROOFSMITH_KIMINA_URL "
                "(and PROOFSMITH_KIMINA_API_KEY if it requires a key), or check locally with --backend lean"
            )
        self.info = CheckerInfo("kimina", f"unknown (Kimina server at {self.client.url})")

    def snippet(self, task: ProofTask) -> tuple[str, str]:
        """(name, code) for one task; raises GuardRejection or ValueError for what must not be sent."""
        parsed = guard.parse_statement(task.theorem.statement)
        if parsed.name is None:
            raise ValueError("an `example` has no name for #print axioms; use `theorem NAME`")
        command = guard.proof_command(parsed, task.theorem.header, task.proof, self.settings.lean_allow_native_decide)
        header = task.theorem.header.strip()
        code = f"{header}\n\n{command}\n\n{parsed.print_axioms}\n" if header else f"{command}\n\n{parsed.print_axioms}\n"
        return parsed.name, code

    def judge(self, task: ProofTask, name: str, result: KiminaResult, elapsed: float) -> CheckResult:
        def verdict(v: Verdict, reason: str = "", axioms: tuple[str, ...] = (), messages=()) -> CheckResult:
            return CheckResult(v, reason, axioms, result.time_s if result.time_s is not None else elapsed,
                               tuple(messages), self.info)

        if result.outcome is Outcome.TIMED_OUT:
            return verdict(Verdict.TIMEOUT, f"Kimina: {result.error}")
        if result.outcome in (Outcome.SERVER_ERROR, Outcome.REPL_ERROR):
            return verdict(Verdict.ERROR, f"Kimina {result.outcome.value}: {result.error}")
        response = result.response
        if response is None:
            return verdict(Verdict.ERROR, f"Kimina answered {result.outcome.value} with no REPL response")
        messages = [m.located() for m in response.messages]
        failure = guard.proof_failure(response)
        if failure is not None:
            return verdict(Verdict.FAILED, failure, messages=messages)
        v, reason, axioms = guard.axiom_verdict(
            response.messages, name, self.settings.lean_allowed_axioms,
            guard.declared_axioms(task.theorem.header), self.settings.lean_allow_native_decide,
        )
        return verdict(v, reason, axioms, messages)

    def check_batch(self, tasks: Sequence[ProofTask], on_result: ResultCallback | None = None) -> list[CheckResult]:
        results: list[CheckResult | None] = [None] * len(tasks)

        def done(index: int, result: CheckResult) -> None:
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        to_send: dict[float, list[tuple[int, str, str]]] = {}
        for index, task in enumerate(tasks):
            try:
                name, code = self.snippet(task)
            except guard.GuardRejection as exc:
                done(index, CheckResult(Verdict.FAILED, f"rejected: {exc}", checker=self.info))
                continue
            except ValueError as exc:
                done(index, CheckResult(Verdict.ERROR, f"bad statement: {exc}", checker=self.info))
                continue
            to_send.setdefault(task.timeout_s or self.settings.timeout_s, []).append((index, name, code))
        batches = [
            (timeout, group[i : i + self.settings.kimina_batch_size])
            for timeout, group in to_send.items()
            for i in range(0, len(group), self.settings.kimina_batch_size)
        ]
        with ThreadPoolExecutor(max_workers=max(1, min(self.settings.workers, len(batches) or 1))) as pool:
            futures = {pool.submit(self._send, tasks, timeout, batch): batch for timeout, batch in batches}
            for future in as_completed(futures):
                for index, result in future.result():
                    done(index, result)
        return results  # type: ignore[return-value]

    def _send(self, tasks: Sequence[ProofTask], timeout: float, batch: list[tuple[int, str, str]]):
        t0 = time.monotonic()
        snippets = [(f"{index}:{name}", code) for index, name, code in batch]
        try:
            answers = self.client.run(snippets, timeout)
        except KiminaError as exc:
            elapsed = time.monotonic() - t0
            return [(index, CheckResult(Verdict.ERROR, str(exc), time_s=elapsed, checker=self.info)) for index, _, _ in batch]
        elapsed = time.monotonic() - t0
        return [(index, self.judge(tasks[index], name, answer, elapsed)) for (index, name, _), answer in zip(batch, answers)]

    def session(self) -> AbstractContextManager[ProofSession]:
        raise CheckerUnavailable("the kimina backend checks whole proofs only; interactive search needs --backend lean")

    def close(self) -> None:
        self.client.close()
