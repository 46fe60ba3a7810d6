"""Tactics and whole proofs from a model behind an OpenAI-compatible HTTP server.

vLLM (`vllm serve`), SGLang, llama.cpp's `llama-server`, Ollama (`/v1`) and
hosted APIs all answer `POST {base}/chat/completions` and most answer
`POST {base}/completions`. `OpenAIServerGenerator` is a
`LanguageModelGenerator`: prompts come from the shared `PromptFormat` text
(`ServedPromptFormat`), so tactic search and whole-proof sampling (`sample`
prover) work as with local models.

What is sent and how it is read:
- `endpoint="chat"` (default) sends the instruction as the system turn and the
  goal (and premises) as the user turn, and reads `message.content`;
  `endpoint="completions"` sends the plain prompt text and reads `text`, with
  `stop=["\\n"]` for a tactic. Tactics are sampled (`n` = k, at
  `temperature`): servers offer no beam search, so a "beam" request samples too.
- Log-probabilities: the request asks for them (`logprobs`); a choice's score
  is the sum of its tokens' log-probabilities, read from
  `logprobs.token_logprobs` (OpenAI/vLLM completions) or `logprobs.content[*].logprob`
  (chat completions everywhere, and llama.cpp's completions). When a server
  gives none (Ollama, some hosted models), the scores are rank-based instead:
  a prompt's distinct answers are ranked by how often they were sampled
  (ties: first seen first) and the answer of rank r gets probability
  (1/r) / (1 + 1/2 + ... + 1/m) over the m distinct answers, so they are still
  proper log-probabilities (summing to one) that search can add up.
  `served_logprob_choices` and `rank_logprob_choices` count which was used.
- `n`: a server that ignores it (Ollama answers one choice) or refuses it
  (llama.cpp: "Only one completion choice is allowed") is then asked k times
  with n=1 (seeds seed, seed+1, ...) for the rest of the run. A server that
  refuses `logprobs` is asked without them from then on.
- Concurrency: the prompts of one request (and the n=1 calls) go out together
  through a bounded thread pool over one `httpx.Client`: one synchronous
  client, no second async implementation.
- Retries: 429, 408, 409 and 5xx answers and connection errors and timeouts are
  retried `max_retries` times with exponential backoff (`backoff_s` * 2^i,
  or the server's `Retry-After` when it gives one, at most 30 s); each call
  has `request_timeout_s`, and a search's remaining time cuts the wait short
  (what is unfinished then is dropped). What still fails raises
  `ServedModelError`, naming the URL.
- Token budget: `max_tactic_tokens` / `max_proof_tokens` are each call's
  `max_tokens`; `max_total_tokens` caps a run's prompt + completion tokens,
  counted from each answer's `usage` (estimated at 4 characters a token where
  a server leaves `usage` out). Generators of one process with the same URL,
  model and cap share one ledger (eval workers), so the cap holds for the run;
  once it is spent the generator proposes nothing more and says so in
  `token_budget_spent`.

Prompt length without the model's tokenizer: `ServedPromptFormat` counts
ceil(characters / 4) tokens (the usual estimate for English and code with
BPE vocabularies) and cuts text by characters. Server tokenizer endpoints
(vLLM and llama.cpp `/tokenize`) are not standard (Ollama and hosted APIs have
none), and a prompt budget needs no exactness: the default of 2048 estimated
tokens is far below any served model's context.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

from proofsmith.prover.generators.base import Completion, DecodeRequest, DecodingSettings, LanguageModelGenerator
from proofsmith.prover.prompt import PROOF_INSTRUCTION, TACTIC_INSTRUCTION, TRUNCATION_MARK, PromptFormat

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
ENDPOINTS = ("chat", "completions")
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
RETRIED_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0


class ServedModelError(RuntimeError):
    """A model server that cannot be used: unreachable, refusing the request, or answering nonsense."""


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def cut_to_tokens(text: str, max_tokens: int) -> str:
    """`text` cut by characters to about `max_tokens` estimated tokens, marked when cut (no tokenizer needed)."""
    if estimate_tokens(text) <= max_tokens:
        return text
    keep = max((max_tokens - estimate_tokens(TRUNCATION_MARK)) * CHARS_PER_TOKEN, 1)
    return text[:keep] + TRUNCATION_MARK


class ServedPromptFormat(PromptFormat):
    """`PromptFormat` without a tokenizer: lengths estimated at 4 characters a token.

    Prompts are the plain-text rendering (instruction, body, cue); for chat
    endpoints `messages` splits one back into a system and a user turn.
    """

    def __init__(self, max_prompt_tokens: int = 2048, goal_share: float = 0.75):
        super().__init__(tokenizer=None, max_prompt_tokens=max_prompt_tokens, goal_share=goal_share,
                         use_chat_template=False)

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def _truncate(self, text: str, max_tokens: int) -> str:
        return cut_to_tokens(text, max_tokens)

    def _clean(self, text: str) -> str:
        """Chat models fence code (```coq ... ```): the fence and its language tag go, the code stays."""
        text = text.strip()
        if text.startswith("```"):
            text = text.split("\n", 1)[1] if "\n" in text else text.strip("`")
            text = text.split("```", 1)[0]
        return super()._clean(text)

    @staticmethod
    def messages(prompt: str, instructions: Sequence[str] = (TACTIC_INSTRUCTION, PROOF_INSTRUCTION)) -> list[dict[str, str]]:
        """The chat turns of a rendered prompt: its instruction (one of `instructions`) as the system turn, the
        rest as the user's; a prompt that opens with none of them is one user turn."""
        for instruction in instructions:
            if prompt.startswith(instruction):
                return [
                    {"role": "system", "content": instruction},
                    {"role": "user", "content": prompt[len(instruction):].strip()},
                ]
        return [{"role": "user", "content": prompt}]


@dataclass
class TokenLedger:
    """Tokens spent against a cap (None: no cap), safe to share between threads."""

    cap: int | None
    used: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(self, tokens: int) -> None:
        with self._lock:
            self.used += tokens

    @property
    def spent(self) -> bool:
        return self.cap is not None and self.used >= self.cap


_LEDGERS: dict[tuple[str, str, int | None], TokenLedger] = {}
_LEDGERS_LOCK = threading.Lock()


def shared_token_ledger(base_url: str, model: str, cap: int | None) -> TokenLedger:
    """The process's one ledger for this server, model and cap (eval workers share it)."""
    with _LEDGERS_LOCK:
        return _LEDGERS.setdefault((base_url, model, cap), TokenLedger(cap))


def normalize_base_url(url: str) -> str:
    """`http://host:8000` -> `http://host:8000/v1`; a URL with a path is kept as given (without a trailing /)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"model URL {url!r}: expected http://HOST[:PORT][/PATH] or https://...")
    url = url.rstrip("/")
    return url + "/v1" if parsed.path in ("", "/") else url


def choice_text(choice: dict[str, Any]) -> str:
    if "message" in choice:
        return (choice["message"] or {}).get("content") or ""
    return choice.get("text") or ""


def choice_logprob(choice: dict[str, Any]) -> float | None:
    """The summed token log-probabilities of one choice, or None when the server gave none."""
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        return None
    if isinstance(logprobs.get("token_logprobs"), list):  # completions: OpenAI, vLLM, SGLang
        values = [v for v in logprobs["token_logprobs"] if v is not None]
    elif isinstance(logprobs.get("content"), list):  # chat everywhere; llama.cpp's completions too
        values = [entry.get("logprob") for entry in logprobs["content"] if entry.get("logprob") is not None]
    else:
        return None
    if not values and choice_text(choice):
        return None
    return float(sum(values))


def rank_logprobs(texts: Sequence[str]) -> list[float]:
    """Proper log-probabilities from sampling frequency ranks (see the module docstring), one per text."""
    counts = Counter(t.strip() for t in texts)
    first_seen = {t: i for i, t in reversed(list(enumerate(t.strip() for t in texts)))}
    ranked = sorted(counts, key=lambda t: (-counts[t], first_seen[t]))
    norm = sum(1.0 / (r + 1) for r in range(len(ranked)))
    logprob = {t: math.log((1.0 / (r + 1)) / norm) for r, t in enumerate(ranked)}
    return [logprob[t.strip()] for t in texts]


@dataclass
class _Answer:
    """One server answer: its choices as (text, logprob or None), and the tokens it cost."""

    choices: list[tuple[str, float | None]]
    tokens: int


class OpenAIServerGenerator(LanguageModelGenerator):
    name = "openai-server"
    decoding = "sample"

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key_env: str | None = None,
        endpoint: str = "chat",
        max_prompt_tokens: int = 2048,
        temperature: float = 1.0,
        max_tactic_tokens: int = 64,
        max_proof_tokens: int = 1024,
        max_total_tokens: int | None = None,
        concurrency: int = 8,
        request_timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        logprobs: bool = True,
        decoding: str = "sample",
        check_server: bool = True,
        system_instructions: Sequence[str] = (),
    ):
        """`model` is the name the server serves (vLLM: the model path or --served-model-name;
        Ollama: e.g. "llama3"). The API key is read from the environment variable `api_key_env`
        (default OPENAI_API_KEY; none is sent when it is unset). `check_server` asks
        `GET {base}/models` once, so an unreachable URL fails here with a clear message.
        `system_instructions`: further instructions that, opening a prompt, go to the chat endpoint
        as its system turn (the tactic and proof instructions always do), e.g. the conjecturer's."""
        if not model:
            raise ValueError("a served model needs its name on the server (--model NAME)")
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint {endpoint!r}: expected one of {', '.join(ENDPOINTS)}")
        if decoding not in ("sample", "beam"):
            raise ValueError(f"decoding {decoding!r}: expected 'sample' (servers offer no beam search)")
        for label, value in (("concurrency", concurrency), ("max_tactic_tokens", max_tactic_tokens),
                             ("max_proof_tokens", max_proof_tokens), ("request_timeout_s", request_timeout_s)):
            if value <= 0:
                raise ValueError(f"{label} must be positive, got {value}")
        if max_total_tokens is not None and max_total_tokens <= 0:
            raise ValueError(f"max_total_tokens must be positive, got {max_total_tokens}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be at least 0, got {max_retries}")
        self.base_url = normalize_base_url(base_url)
        self.model = model
        self.endpoint = endpoint
        self.prompt_format = ServedPromptFormat(max_prompt_tokens)
        self.system_instructions = (TACTIC_INSTRUCTION, PROOF_INSTRUCTION, *system_instructions)
        self.settings = DecodingSettings(max_prompt_tokens, decoding, temperature, max_tactic_tokens, max_proof_tokens)
        self.request_timeout_s = request_timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.ledger = shared_token_ledger(self.base_url, model, max_total_tokens)
        self.ask_logprobs = logprobs
        self.one_sample_per_call = False  # set once the server ignores or refuses n > 1
        self.served_logprob_choices = 0
        self.rank_logprob_choices = 0
        self.retries = 0
        self.token_budget_spent = False
        env = api_key_env or DEFAULT_API_KEY_ENV
        if api_key_env and api_key_env not in os.environ:
            raise ValueError(f"--api-key-env {api_key_env}: that environment variable is not set")
        key = os.environ.get(env)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(request_timeout_s, connect=min(request_timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="openai-server")
        if check_server:
            self._check_server()

    # ------------------------------------------------------------ decoding

    def complete(self, request: DecodeRequest) -> list[list[Completion]]:
        """`request.k` sampled completions per prompt (fewer when the time limit or token budget cuts calls short)."""
        deadline = time.monotonic() + request.time_limit_s if request.time_limit_s is not None else None
        if not self.one_sample_per_call and request.prompts:
            # The first prompt's answer tells whether the server honours n; the rest go out together.
            first = self._answers(request, [0], deadline)
            rest = self._answers(request, range(1, len(request.prompts)), deadline)
            answers = first + rest
        else:
            answers = self._answers(request, range(len(request.prompts)), deadline)
        return [self._completions(choices) for choices in answers]

    def _answers(self, request: DecodeRequest, indices: Iterable[int], deadline: float | None) -> list[list[tuple[str, float | None]]]:
        """The choices gathered for each prompt index, calling the server concurrently."""
        indices = list(indices)
        gathered: dict[int, list[tuple[str, float | None]]] = {i: [] for i in indices}
        calls: list[tuple[int, int, int]] = []  # (prompt index, n, seed offset)
        for i in indices:
            if self.one_sample_per_call:
                calls.extend((i, 1, j) for j in range(request.k))
            else:
                calls.append((i, request.k, 0))
        futures: dict[Future, tuple[int, int, int]] = {
            self._pool.submit(self._call, request, request.prompts[i], n, offset, deadline): (i, n, offset)
            for i, n, offset in calls
        }
        # In call order, not arrival order: the same answers give the same candidates.
        for future in sorted(self._wait(futures, deadline), key=futures.__getitem__):
            i, n, _ = futures[future]
            answer = future.result()
            if answer is None:
                continue
            gathered[i].extend(answer.choices)
            if n > 1 and len(answer.choices) < n and not self.one_sample_per_call:
                log.info("%s answered %d choice(s) for n=%d: asking once per sample from now on",
                         self.base_url, len(answer.choices), n)
                self.one_sample_per_call = True
        # A server that ignored n (or refused it) is asked again, once per missing sample.
        short = [i for i in indices if len(gathered[i]) < request.k] if self.one_sample_per_call else []
        if short and (deadline is None or time.monotonic() < deadline):
            extra = {
                self._pool.submit(self._call, request, request.prompts[i], 1, j, deadline): (i, j)
                for i in short for j in range(len(gathered[i]), request.k)
            }
            for future in sorted(self._wait(extra, deadline), key=extra.__getitem__):
                answer = future.result()
                if answer is not None:
                    gathered[extra[future][0]].extend(answer.choices)
        return [gathered[i] for i in indices]

    @staticmethod
    def _wait(futures, deadline: float | None) -> set[Future]:
        """The calls finished by the deadline (the rest are dropped); the first failure is raised."""
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        done, _ = wait(futures, timeout=timeout)
        for future in done:
            failure = future.exception()
            if failure is not None:
                raise failure
        return done

    def _completions(self, choices: list[tuple[str, float | None]]) -> list[Completion]:
        if not choices:
            return []
        if all(lp is not None for _, lp in choices):
            self.served_logprob_choices += len(choices)
            return [Completion(text, lp) for text, lp in choices if lp is not None]  # all of them
        self.rank_logprob_choices += len(choices)
        texts = [text for text, _ in choices]
        return [Completion(text, lp) for text, lp in zip(texts, rank_logprobs(texts))]

    def _call(self, request: DecodeRequest, prompt: str, n: int, seed_offset: int,
              deadline: float | None) -> _Answer | None:
        """One server call for n samples of `prompt`; None when the token budget is spent."""
        if self.ledger.spent:
            if not self.token_budget_spent:
                log.warning("%s: the token budget of %d tokens is spent; no more calls", self.base_url, self.ledger.cap)
            self.token_budget_spent = True
            return None
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_new_tokens,
            "temperature": request.temperature if request.decoding == "sample" else self.settings.temperature,
            "n": n,
        }
        if request.seed is not None:
            body["seed"] = request.seed + seed_offset
        if self.endpoint == "chat":
            path = "/chat/completions"
            body["messages"] = ServedPromptFormat.messages(prompt, self.system_instructions)
            if self.ask_logprobs:
                body["logprobs"] = True
        else:
            path = "/completions"
            body["prompt"] = prompt
            if request.single_line:
                body["stop"] = ["\n"]
            if self.ask_logprobs:
                body["logprobs"] = 1  # the sampled token's own log-probability (0 gives none on llama.cpp)
        payload = self._post(path, body, deadline)
        if payload is None:  # the server refused a parameter; `_post` adapted, ask again
            return self._call(request, prompt, 1 if self.one_sample_per_call else n, seed_offset, deadline)
        choices = payload.get("choices")
        if not isinstance(choices, list):
            raise ServedModelError(f"{self.base_url}{path} answered without choices: {str(payload)[:200]}")
        parsed = [(choice_text(c), choice_logprob(c)) for c in choices]
        usage = payload.get("usage") or {}
        tokens = usage.get("total_tokens")
        if not isinstance(tokens, int):
            tokens = estimate_tokens(prompt) * max(len(parsed), 1) + sum(estimate_tokens(t) for t, _ in parsed)
        self.ledger.charge(tokens)
        return _Answer(parsed, tokens)

    # ------------------------------------------------------------ HTTP

    def _post(self, path: str, body: dict[str, Any], deadline: float | None) -> dict[str, Any] | None:
        """POST with retries; None when the server refused a parameter it cannot take (the caller retries without it)."""
        url = self.base_url + path
        for attempt in range(self.max_retries + 1):
            wait_s: float | None = None
            try:
                response = self._client.post(url, json=body)
            except httpx.TimeoutException as exc:
                failure = f"no answer within {self.request_timeout_s:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                failure = f"could not reach the model server ({type(exc).__name__}: {exc})"
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        raise ServedModelError(f"{url} answered 200 with a body that is not JSON: "
                                               f"{response.text[:200]!r}") from None
                message = error_message(response)
                if self._adapt_to_refusal(body, message):
                    return None
                if response.status_code not in RETRIED_STATUSES:
                    raise ServedModelError(f"{url} refused the request (HTTP {response.status_code}): {message}")
                failure = f"HTTP {response.status_code}: {message}"
                wait_s = retry_after_s(response)
            if attempt == self.max_retries:
                raise ServedModelError(f"{url}: {failure} (after {self.max_retries + 1} tries)")
            delay_s = min(wait_s if wait_s is not None else self.backoff_s * 2 ** attempt, MAX_BACKOFF_S)
            if deadline is not None and time.monotonic() + delay_s >= deadline:
                raise ServedModelError(f"{url}: {failure} (no time left to retry)")
            self.retries += 1
            log.info("%s: %s; retrying in %.2f s", url, failure, delay_s)
            time.sleep(delay_s)
        raise AssertionError("unreachable")

    def _adapt_to_refusal(self, body: dict[str, Any], message: str) -> bool:
        """Whether the error refuses `n` > 1 or `logprobs`, which are then dropped for the rest of the run."""
        lowered = message.lower()
        if body.get("n", 1) > 1 and "choice" in lowered:
            log.info("%s refuses n > 1 (%s): asking once per sample", self.base_url, message)
            self.one_sample_per_call = True
            return True
        if "logprobs" in body and "logprob" in lowered:
            log.info("%s refuses logprobs (%s): rank-based scores from now on", self.base_url, message)
            self.ask_logprobs = False
            return True
        return False

    def _check_server(self) -> None:
        url = self.base_url + "/models"
        try:
            response = self._client.get(url, timeout=min(self.request_timeout_s, 10.0))
        except httpx.TransportError as exc:
            raise ServedModelError(
                f"could not reach the model server at {self.base_url} ({type(exc).__name__}: {exc}); "
                "is it running, and is --model-url right?"
            ) from None
        if response.status_code in (401, 403):
            raise ServedModelError(f"{url} refused the API key (HTTP {response.status_code}): {error_message(response)}")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def usage(self) -> dict[str, Any]:
        """What this generator has cost and how its scores were made, for logs and results."""
        return {
            "tokens_used": self.ledger.used,
            "token_cap": self.ledger.cap,
            "token_budget_spent": self.token_budget_spent,
            "retries": self.retries,
            "served_logprob_choices": self.served_logprob_choices,
            "rank_logprob_choices": self.rank_logprob_choices,
            "one_sample_per_call": self.one_sample_per_call,
        }


def error_message(response: httpx.Response) -> str:
    """The server's own words for an error: OpenAI/llama.cpp/Ollama `{"error": {"message"}}`,
    vLLM `{"message"}`, or the body's start."""
    try:
        payload = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if payload.get("message"):
            return str(payload["message"])
    return str(payload)[:300]


def retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
