"""One replica's judge: concurrent requests merged into engine batches, lengths checked first.

Requests never call the engine themselves: each puts a job (its pairs and settings) on a
``@serve.batch`` queue, which hands the jobs that arrive together to :meth:`JudgeService._run_jobs`.
Serve forms such batches as requests come, also while the engine is busy; so that they do not
queue up as many small engine calls, every batch adds its jobs to one waiting list and the next
engine call takes the list (up to ``max_batch_size`` requests): ONE ``compare_many`` per distinct ``(votes, both_orders)`` among
everything that arrived during the previous call, on the replica's single engine thread (the event
loop stays free for new requests and health checks). Rank and best-of-N run ``select_many`` on a
worker thread whose comparison rounds go through the same queue, so they share engine batches with
everything else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from ray import serve
from ray.serve.exceptions import RayServeException

from gram_rr.judge import JudgeConfig, RewardReasoner
from gram_rr.pair_prompt import Question, pair_judge_messages
from gram_rr.prompts import JUDGE_TEMPLATE, load_template
from gram_rr.selection import Selection
from gram_rr.serve.config import ServeConfig
from gram_rr.serve.errors import EngineFailure, RequestError
from gram_rr.serve.openrlhf import split_query
from gram_rr.serve.reward import ResponseMemory, length_checked_pairs, plan_rollouts, remember, reward_answer
from gram_rr.serve.schema import CompareRequest, JudgeOptions, RewardRequest, SelectRequest
from gram_rr.verdict import Verdict

Pair = tuple[Question, str, str]


@dataclass
class Job:
    """One request's pairs, judged with one ``(votes, both_orders)``."""

    pairs: list[Pair]
    votes: int
    both_orders: bool


@dataclass
class ReplicaStats:
    """What this replica did: requests and pairs judged, engine batches (``compare_many`` calls) formed."""

    jobs: int = 0
    pairs: int = 0
    engine_batches: int = 0


class LengthLimit:
    """The judge prompt's token budget: ``max_model_len - max_new_tokens``; None: unchecked."""

    def __init__(self, tokenizer: Any, max_model_len: int | None, max_new_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.max_model_len = max_model_len
        self.max_new_tokens = max_new_tokens
        self.max_prompt_tokens = None if max_model_len is None else max_model_len - max_new_tokens

    def check(self, pairs: Sequence[Pair], both_orders: bool, field: Callable[[int], str]) -> None:
        """Raise a 413 :class:`RequestError` naming the first pair whose prompt does not fit."""
        from gram_rr.engines.tokens import prompt_ids

        if self.max_prompt_tokens is None or self.tokenizer is None:
            return
        for k, pair in enumerate(pairs):
            for swapped in (False, True) if both_orders else (False,):
                length = len(prompt_ids(self.tokenizer, pair_judge_messages(pair, swapped)))
                if length > self.max_prompt_tokens:
                    raise RequestError(
                        field(k),
                        f"the judge prompt is {length} tokens; the model fits {self.max_model_len} tokens "
                        f"(engine.max_model_len) of which {self.max_new_tokens} are kept for the judgment "
                        f"(judge.max_new_tokens), so a prompt may have at most {self.max_prompt_tokens}",
                        status=413,
                    )


class _QueuedReasoner(RewardReasoner):
    """A reasoner whose ``compare_many`` (each round of ``select_many``) goes through the service's batch queue."""

    def __init__(self, service: "JudgeService", loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(service.reasoner.engine, service.reasoner.config)
        self.service = service
        self.loop = loop

    def compare_many(
        self, pairs: Sequence[Pair], votes: int | None = None, both_orders: bool | None = None,
        temperature: float | None = None,
    ) -> list[Verdict]:
        return asyncio.run_coroutine_threadsafe(self.service.judge(list(pairs), votes, both_orders), self.loop).result()


class JudgeService:
    """A reward reasoner answering requests; see the module docstring for how they are batched."""

    def __init__(
        self, reasoner: RewardReasoner, model: str, config: ServeConfig | None = None,
        limit: LengthLimit | None = None, engine_settings: dict[str, Any] | None = None,
    ) -> None:
        self.reasoner = reasoner
        self.model = model
        self.config = config or ServeConfig()
        self.limit = limit or LengthLimit(None, None, reasoner.config.max_new_tokens)
        self.engine_settings = engine_settings or {}
        self.stats = ReplicaStats()
        self.memory = ResponseMemory(self.config.reward_memory_prompts, self.config.reward_memory_responses)
        self._memory_turn = asyncio.Lock()  # /get_reward requests take their opponents in arrival order
        self.failure: str | None = None
        self._engine_thread = ThreadPoolExecutor(1, thread_name_prefix="engine")
        self._engine_turn = asyncio.Lock()  # one engine call at a time
        self._waiting: list[tuple[Job, asyncio.Future]] = []  # jobs of every batch not yet sent to the engine
        self._selection_threads = ThreadPoolExecutor(self.config.max_ongoing_requests, thread_name_prefix="select")
        # Batches wait for the engine in _run_jobs, not in Serve's queue: as many may be open as requests
        # (Serve logs once that max_batch_size * max_concurrent_batches exceeds max_ongoing_requests).
        self._batched = serve.batch(
            max_batch_size=self.config.max_batch_size, batch_wait_timeout_s=self.config.batch_wait_s,
            max_concurrent_batches=self.config.max_ongoing_requests,
        )(self._run_jobs)

    @classmethod
    def from_configs(cls, engine_config: Any, judge_config: JudgeConfig, config: ServeConfig) -> "JudgeService":
        """Build the engine (:func:`gram_rr.engines.build_engine`) and the length limit of ``engine_config``."""
        from transformers import AutoConfig, AutoTokenizer

        from gram_rr.engines import build_engine
        from gram_rr.models import resolve_model

        path = resolve_model(engine_config.model)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=engine_config.trust_remote_code)
        max_model_len = engine_config.max_model_len or getattr(
            AutoConfig.from_pretrained(path, trust_remote_code=engine_config.trust_remote_code),
            "max_position_embeddings", None,
        )
        reasoner = RewardReasoner(build_engine(engine_config), judge_config)
        limit = LengthLimit(tokenizer, max_model_len, judge_config.max_new_tokens)
        return cls(reasoner, engine_config.model, config, limit, dataclasses.asdict(engine_config))

    # -- batching ---------------------------------------------------------------------------

    async def judge(self, pairs: list[Pair], votes: int | None = None, both_orders: bool | None = None) -> list[Verdict]:
        """Verdicts for ``pairs``, judged in the next engine batch with whatever else is waiting."""
        self.check_health()
        votes = self.reasoner.config.votes if votes is None else votes
        both = self.reasoner.config.both_orders if both_orders is None else both_orders
        return await self._batched(Job(pairs, votes, both))

    async def _run_jobs(self, jobs: list[Job]) -> list[list[Verdict]]:
        """A Serve batch: its jobs join the waiting list; at its engine turn, unless an earlier batch's
        turn took them along, it judges the list's first ``max_batch_size`` jobs (its own among them).
        Each job's verdicts come back in order."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in jobs]
        self._waiting.extend(zip(jobs, futures))
        async with self._engine_turn:
            if not all(future.done() for future in futures):  # ours lead the list: earlier turns took theirs
                cap = self.config.max_batch_size
                taken, self._waiting = self._waiting[:cap], self._waiting[cap:]
                await self._judge_waiting(taken)
        return list(await asyncio.gather(*futures))

    async def _judge_waiting(self, taken: list[tuple[Job, asyncio.Future]]) -> None:
        """One ``compare_many`` per ``(votes, both_orders)`` among ``taken``; results (or the failure) to their futures."""
        groups: dict[tuple[int, bool], list[tuple[Job, asyncio.Future]]] = {}
        for job, future in taken:
            groups.setdefault((job.votes, job.both_orders), []).append((job, future))
        loop = asyncio.get_running_loop()
        for (votes, both), members in groups.items():
            pairs = [pair for job, _ in members for pair in job.pairs]
            if self.failure is None:
                call = partial(self.reasoner.compare_many, pairs, votes=votes, both_orders=both)
                try:
                    verdicts = await loop.run_in_executor(self._engine_thread, call)
                except Exception as err:
                    self.failure = f"{type(err).__name__}: {err}"
            if self.failure is not None:  # this call failed, or an earlier one: no more engine calls
                for _, future in members:
                    future.set_exception(EngineFailure(f"the judge's engine failed: {self.failure}"))
                continue
            self.stats.engine_batches += 1
            self.stats.jobs += len(members)
            self.stats.pairs += len(pairs)
            start = 0
            for job, future in members:
                future.set_result(verdicts[start : start + len(job.pairs)])
                start += len(job.pairs)

    # -- endpoints ----------------------------------------------------------------------------

    def _settings(self, options: JudgeOptions) -> tuple[int, bool]:
        """The request's votes and both_orders, checked against the judge's sampling rules (400 naming ``votes``)."""
        votes = self.reasoner.config.votes if options.votes is None else options.votes
        both = self.reasoner.config.both_orders if options.both_orders is None else options.both_orders
        try:
            self.reasoner.config.sampling(votes, None)
        except ValueError as err:
            raise RequestError("votes", str(err)) from None
        return votes, both

    async def compare(self, request: CompareRequest) -> list[Verdict]:
        votes, both = self._settings(request.options)
        await asyncio.to_thread(self.limit.check, request.pairs, both, lambda k: f"pairs[{k}]")
        return await self.judge(request.pairs, votes, both)

    async def select(self, request: SelectRequest, mode: str) -> Selection:
        """Rank (``mode="rank"``) or best-of-N (``"best"``) with :meth:`RewardReasoner.select_many`."""
        votes, both = self._settings(request.options)
        await asyncio.to_thread(self._check_candidates, request.question, request.candidates, both)
        self.check_health()
        reasoner = _QueuedReasoner(self, asyncio.get_running_loop())
        call = partial(reasoner.select_many, [request.question], [request.candidates], mode, votes, both)
        selections = await asyncio.get_running_loop().run_in_executor(self._selection_threads, call)
        return selections[0]

    def _check_candidates(self, question: Question, candidates: list[str], both_orders: bool) -> None:
        """The longest comparison a ranking can make: the question with its two longest candidates."""
        if len(candidates) < 2 or self.limit.tokenizer is None:
            return
        sizes = [len(self.limit.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in candidates]
        first, second = sorted(range(len(candidates)), key=lambda k: -sizes[k])[:2]
        self.limit.check([(question, candidates[first], candidates[second])], both_orders, lambda _: "candidates")

    async def reward(self, request: RewardRequest) -> dict[str, Any]:
        """OpenRLHF's ``/get_reward``: reward = mean P(response better) against its label, or without one
        against the earlier responses to its question that this replica remembers (:mod:`gram_rr.serve.reward`).
        A request refused for length (413) is not remembered."""
        entries = [
            (*split_query(query, prompt, k), label)
            for k, (query, prompt, label) in enumerate(zip(request.queries, request.prompts, request.labels))
        ]
        async with self._memory_turn:
            rollouts = plan_rollouts(entries, self.memory)
            checked, owners = length_checked_pairs(rollouts)
            await asyncio.to_thread(self.limit.check, checked, True, lambda k: f"query[{owners[k]}]")
            remember(rollouts, self.memory)
        pairs = [pair for rollout in rollouts for pair in rollout.pairs()]
        verdicts = await self.judge(pairs, None, True) if pairs else []
        return reward_answer(rollouts, verdicts)

    def check_health(self) -> None:
        """Raise :class:`EngineFailure` once the engine has failed (Serve then replaces the replica)."""
        if self.failure is not None:
            raise EngineFailure(f"the judge's engine failed earlier: {self.failure}")

    @property
    def replica_id(self) -> str:
        """Serve's id of this replica (``replica_id.unique_id``, as in Serve's logs); ``local`` outside Serve."""
        try:
            return serve.get_replica_context().replica_id.unique_id
        except RayServeException:
            return "local"

    def info(self) -> dict[str, Any]:
        """The model, the judge prompt's hash, the judge and engine settings, and this replica's id, counts
        and ``/get_reward`` memory."""
        return {
            "model": self.model,
            "prompt_template": JUDGE_TEMPLATE,
            "prompt_template_sha256": hashlib.sha256(load_template(JUDGE_TEMPLATE).encode()).hexdigest(),
            "judge": dataclasses.asdict(self.reasoner.config),
            "engine": self.engine_settings,
            "max_prompt_tokens": self.limit.max_prompt_tokens,
            "batching": {"max_batch_size": self.config.max_batch_size, "batch_wait_s": self.config.batch_wait_s},
            "replica": {"id": self.replica_id, **dataclasses.asdict(self.stats)},
            "reward_memory": self.memory.usage(),
        }
