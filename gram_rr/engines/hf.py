"""The transformers engine: batched, left-padded ``generate`` (the fallback when vLLM is absent)."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from gram_rr.engines.answer import AnswerReader
from gram_rr.engines.base import Completion, Conversation, EngineBase, SamplingConfig
from gram_rr.engines.config import EngineConfig
from gram_rr.engines.tokens import prompt_ids, scoring_ids
from gram_rr.models import resolve_model

# Upper bound on logits materialised at once by ``score`` (elements, bf16 -> 512 MiB).
_SCORE_LOGITS_BUDGET = 2**28


class _SampledLogprobs:
    """A logits processor that records each chosen token's log-probability, and at every
    step the log-probabilities of the answer letters' tokens (``letter_ids``: a few floats per
    step and row; the full-vocabulary log-softmax is kept for one step only).

    It runs before the temperature/top-p warpers, so the log-probabilities are under
    the model's own distribution (as vLLM reports them by default), for greedy and
    sampled generation alike.
    """

    def __init__(self, letter_ids: list[int]) -> None:
        self.letter_ids = letter_ids
        self.pending: torch.Tensor | None = None
        self.steps: list[torch.Tensor] = []
        self.letters: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self._take(input_ids[:, -1])
        self.pending = torch.log_softmax(scores.float(), dim=-1)
        self.letters.append(self.pending[:, self.letter_ids])
        return scores

    def _take(self, chosen: torch.Tensor) -> None:
        if self.pending is not None:
            self.steps.append(self.pending.gather(1, chosen[:, None]).squeeze(1))
            self.pending = None

    def result(self, last_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``rows x steps`` chosen-token log-probabilities, given the last generated token of
        each row, and ``rows x steps x len(letter_ids)`` letter-token log-probabilities."""
        self._take(last_tokens)
        return torch.stack(self.steps, dim=1), torch.stack(self.letters, dim=1)


class _StopOnText:
    """A stopping criterion: a row is done once its *generated* text contains a stop string.

    (transformers' own ``stop_strings`` also match across the prompt boundary, so a prompt
    ending in a newline would stop a "\\n\\n" stop string after one generated newline.)
    """

    def __init__(self, tokenizer: Any, stop: Sequence[str], prompt_width: int) -> None:
        self.tokenizer, self.stop, self.prompt_width = tokenizer, list(stop), prompt_width
        self.window = max(len(s) for s in self.stop) + 8  # tokens: enough to hold any stop string

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        tails = input_ids[:, self.prompt_width :][:, -self.window :]
        texts = self.tokenizer.batch_decode(tails, skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.stop) for t in texts], device=input_ids.device)


class HFEngine(EngineBase):
    """Generation and scoring with ``transformers`` on one device (CUDA if available, else CPU).

    Prompts are sorted by length and cut into micro-batches of ``config.hf_batch_size``
    sequences (prompts x samples); outputs come back in input order. Sampling is seeded
    by ``SamplingConfig.seed`` when given, else by a stream drawn from ``config.seed``;
    the global torch RNG is left untouched.
    """

    def __init__(self, config: EngineConfig) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.config = config
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        path = resolve_model(config.model)
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=config.trust_remote_code)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(
            path,
            dtype=getattr(torch, config.dtype),
            use_safetensors=True,
            trust_remote_code=config.trust_remote_code,
        ).to(self.device)
        self.model.eval()
        self.eos_ids = _eos_ids(self.model.generation_config.eos_token_id, self.tokenizer.eos_token_id)
        self.answers = AnswerReader(self.tokenizer)
        self._seeds = torch.Generator().manual_seed(config.seed)

    # -- generation ---------------------------------------------------------------------------

    @torch.inference_mode()
    def generate(self, conversations: list[Conversation], sampling: SamplingConfig) -> list[list[Completion]]:
        prompts = [prompt_ids(self.tokenizer, c) for c in conversations]
        rows_per_prompt = sampling.n if sampling.temperature > 0 else 1
        per_batch = max(1, self.config.hf_batch_size // rows_per_prompt)
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        chunks = list(_chunks(order, per_batch))
        seed = sampling.seed if sampling.seed is not None else int(torch.randint(2**31 - 1, (1,), generator=self._seeds))
        results: list[list[Completion]] = [[] for _ in prompts]
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            for chunk in tqdm(chunks, desc="generate (hf)", disable=len(chunks) < 2):
                for index, completions in zip(chunk, self._generate_batch([prompts[i] for i in chunk], sampling)):
                    results[index] = completions
        return results

    def _generate_batch(self, prompts: list[list[int]], sampling: SamplingConfig) -> list[list[Completion]]:
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        batch = self.tokenizer.pad({"input_ids": prompts}, padding=True, padding_side="left", return_tensors="pt")
        batch = batch.to(self.device)
        sample = sampling.temperature > 0
        rows_per_prompt = sampling.n if sample else 1
        gen_config = GenerationConfig(
            max_new_tokens=sampling.max_new_tokens,
            do_sample=sample,
            temperature=sampling.temperature if sample else None,
            top_p=sampling.top_p if sample else None,
            top_k=0 if sample else None,  # transformers defaults to top_k=50; vLLM to none
            num_return_sequences=rows_per_prompt,
            eos_token_id=sorted(self.eos_ids),
            pad_token_id=self.tokenizer.pad_token_id,
            return_dict_in_generate=True,
        )
        width = batch["input_ids"].shape[1]
        recorder = _SampledLogprobs(self.answers.candidate_ids)
        stopping = [_StopOnText(self.tokenizer, sampling.stop, width)] if sampling.stop else []
        out = self.model.generate(
            **batch,
            generation_config=gen_config,
            logits_processor=LogitsProcessorList([recorder]),
            stopping_criteria=StoppingCriteriaList(stopping),
        )
        generated = out.sequences[:, width:]
        logprobs, letters = (t.cpu() for t in recorder.result(generated[:, -1]))
        generated = generated.cpu()
        completions = [
            self._completion(generated[r].tolist(), logprobs[r], letters[r], sampling.stop) for r in range(len(generated))
        ]
        grouped = [completions[i * rows_per_prompt : (i + 1) * rows_per_prompt] for i in range(len(prompts))]
        if not sample:  # greedy: the n samples are the one greedy answer
            grouped = [[Completion(**vars(g[0])) for _ in range(sampling.n)] for g in grouped]
        return grouped

    def _completion(self, tokens: list[int], logprobs: torch.Tensor, letters: torch.Tensor, stop: Sequence[str]) -> Completion:
        """``logprobs``: the chosen tokens' log-probabilities; ``letters``: steps x letter-token log-probabilities."""
        end, finish = len(tokens), "length"
        for j, token in enumerate(tokens):
            if token in self.eos_ids:
                end, finish = j + 1, "stop"
                break
        text = self.tokenizer.decode(tokens[:end], skip_special_tokens=True)
        hits = [text.find(s) for s in stop if s in text]
        if hits:
            text, finish = text[: min(hits)], "stop"
            end = self._tokens_through_stop(tokens[:end], stop)
        step = self.answers.answer_step(tokens[:end], text)
        answer_logprobs = None
        if step is not None:
            answer_logprobs = self.answers.letter_logprobs(dict(zip(self.answers.candidate_ids, letters[step].tolist())))
        return Completion(
            text=text,
            num_tokens=end,
            logprob=float(logprobs[:end].sum()),
            finish_reason=finish,
            answer_logprobs=answer_logprobs,
        )

    def _tokens_through_stop(self, tokens: list[int], stop: Sequence[str]) -> int:
        """The shortest prefix of ``tokens`` whose text contains a stop string (binary search)."""
        lo, hi = 1, len(tokens)
        while lo < hi:
            mid = (lo + hi) // 2
            text = self.tokenizer.decode(tokens[:mid], skip_special_tokens=True)
            if any(s in text for s in stop):
                hi = mid
            else:
                lo = mid + 1
        return lo

    # -- scoring ------------------------------------------------------------------------------

    @torch.inference_mode()
    def score(self, conversations: list[Conversation | None], continuations: list[str]) -> list[float]:
        if len(conversations) != len(continuations):
            raise ValueError(f"score got {len(conversations)} conversations but {len(continuations)} continuations")
        items = [scoring_ids(self.tokenizer, c, x) for c, x in zip(conversations, continuations)]
        order = sorted(range(len(items)), key=lambda i: -len(items[i][0]))
        scores = [0.0] * len(items)
        chunks = list(self._score_chunks(order, items))
        for chunk in tqdm(chunks, desc="score (hf)", disable=len(chunks) < 2):
            for index, value in zip(chunk, self._score_batch([items[i] for i in chunk])):
                scores[index] = value
        return scores

    def _score_chunks(self, order: list[int], items: list[tuple[list[int], int]]) -> Iterator[list[int]]:
        vocab = self.model.get_output_embeddings().weight.shape[0]
        chunk: list[int] = []
        keep = 0
        for index in order:
            ids, n_context = items[index]
            new_keep = max(keep, len(ids) - n_context + 1)
            if chunk and (len(chunk) >= self.config.hf_batch_size or (len(chunk) + 1) * new_keep * vocab > _SCORE_LOGITS_BUDGET):
                yield chunk
                chunk, new_keep = [], len(ids) - n_context + 1
            chunk.append(index)
            keep = new_keep
        if chunk:
            yield chunk

    def _score_batch(self, items: list[tuple[list[int], int]]) -> list[float]:
        pad = self.tokenizer.pad_token_id
        width = max(len(ids) for ids, _ in items)
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids, _ in items], device=self.device)
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids, _ in items], device=self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        lengths = [len(ids) - n_context for ids, n_context in items]
        keep = max(lengths) + 1
        logits = self.model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep
        ).logits  # rows x keep x vocab: the predictions for the last keep - 1 tokens
        scores = []
        for r, length in enumerate(lengths):
            if length == 0:
                scores.append(0.0)
                continue
            predictions = torch.log_softmax(logits[r, keep - 1 - length : keep - 1].float(), dim=-1)
            targets = input_ids[r, width - length :]
            scores.append(float(predictions.gather(1, targets[:, None]).sum()))
        return scores

    def close(self) -> None:
        self.model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _eos_ids(*values: Any) -> set[int]:
    ids: set[int] = set()
    for value in values:
        if isinstance(value, int):
            ids.add(value)
        elif value is not None:
            ids.update(value)
    return ids


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
