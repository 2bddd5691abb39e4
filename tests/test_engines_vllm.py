"""The vLLM engine on SmolLM2 (one engine per session), checked against the transformers engine."""

from __future__ import annotations

import pytest

from gram_rr.engines import SamplingConfig

pytestmark = [pytest.mark.model, pytest.mark.vllm]

# Questions whose greedy answers have no near-tie: logits are rounded to bf16 (steps of 0.125 at
# SmolLM2's logit scale), so a near-tie (e.g. "What is the capital of France?") can flip between runtimes.
QUESTIONS = ["What is 2+2?", "Name a colour of the sky.", "Say hello.", "What is 3+3?"]


def convs(texts: list[str]) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": t}] for t in texts]


def test_default_model_folder_answers_greedily_in_transformers_and_vllm(vllm_engine, hf_engine) -> None:
    """Issue 2 must-show: the converted default model works in both runtimes."""
    sampling = SamplingConfig(max_new_tokens=24)
    for engine in (vllm_engine, hf_engine):
        answer = engine.generate(convs(["What is 2+2?"]), sampling)[0][0]
        assert "4" in answer.text, answer
        assert answer.finish_reason == "stop" and answer.num_tokens < 24


def test_greedy_batch_keeps_input_order_and_agrees_with_transformers(vllm_engine, hf_engine) -> None:
    sampling = SamplingConfig(max_new_tokens=16)
    fast = vllm_engine.generate(convs(QUESTIONS), sampling)
    slow = hf_engine.generate(convs(QUESTIONS), sampling)
    assert [len(group) for group in fast] == [1] * len(QUESTIONS)
    assert "4" in fast[0][0].text  # the order check: the 2+2 answer comes first
    # Different kernels round bf16 differently, so a late token may differ: compare the openings.
    for f, s in zip(fast, slow):
        assert f[0].text[:12] == s[0].text[:12], (f[0].text, s[0].text)
        assert f[0].logprob < 0


def test_n_samples_are_distinct_and_honour_stop_strings(vllm_engine) -> None:
    out = vllm_engine.generate(convs(QUESTIONS[:2]), SamplingConfig(n=4, temperature=1.0, max_new_tokens=24, stop=["."]))
    assert [len(group) for group in out] == [4, 4]
    for group in out:
        assert len({c.text for c in group}) > 1
        for c in group:
            assert "." not in c.text
            assert 1 <= c.num_tokens <= 24 and c.logprob < 0


def test_score_agrees_with_transformers(vllm_engine, hf_engine) -> None:
    conversations = [convs(QUESTIONS)[0], None, convs(["What is the capital of France?"])[0], None]
    continuations = ["2 + 2 equals 4.", "2 + 2 equals 4.", "The capital of France is Paris.", "Paris"]
    fast = vllm_engine.score(conversations, continuations)
    slow = hf_engine.score(conversations, continuations)
    for f, s in zip(fast, slow):
        assert f == pytest.approx(s, rel=0.05, abs=0.3)
    assert fast[0] > fast[1]  # the answer is likelier after its question than on its own


def _summed_logprob(hf_engine, conversation, text: str, temperature: float) -> float:
    """log p(text | conversation) from the transformers engine's model, under logits / temperature."""
    import torch

    from gram_rr.engines.tokens import scoring_ids

    ids, n_context = scoring_ids(hf_engine.tokenizer, conversation, text)
    with torch.no_grad():
        logits = hf_engine.model(torch.tensor([ids], device=hf_engine.model.device)).logits[0, :-1].float()
    logprobs = torch.log_softmax(logits / temperature, dim=-1)
    targets = torch.tensor(ids[1:], device=logprobs.device)
    return logprobs.gather(1, targets[:, None])[n_context - 1 :].sum().item()


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_score_of_own_generation_equals_its_logprob(vllm_engine, temperature) -> None:
    """A sample's log-probability is the prefill score of its text (proof selection uses it as log p(z|s,l))."""
    out = vllm_engine.generate(convs(QUESTIONS), SamplingConfig(max_new_tokens=12, temperature=temperature))
    samples = [(c, group[0]) for c, group in zip(convs(QUESTIONS), out) if group[0].finish_reason == "length"]
    assert samples, "expected some generations to run to the token budget"
    scores = vllm_engine.score([c for c, _ in samples], [sample.text for _, sample in samples])
    for (_, sample), value in zip(samples, scores):
        # bf16 logits near 20 are quantised in steps of ~0.06: decode and prefill differ by a few
        # hundredths of a nat per token (0.27 over 12 tokens seen)
        assert value == pytest.approx(sample.logprob, abs=0.05 * sample.num_tokens)


def test_sampled_logprob_is_untempered(vllm_engine, hf_engine) -> None:
    """At T=0.8 the reported log-probability follows the model's own distribution, not the tempered one."""
    out = vllm_engine.generate(convs(QUESTIONS), SamplingConfig(max_new_tokens=12, temperature=0.8))
    samples = [(c, group[0]) for c, group in zip(convs(QUESTIONS), out)]
    off_raw = sum(abs(s.logprob - _summed_logprob(hf_engine, c, s.text, 1.0)) for c, s in samples)
    off_tempered = sum(abs(s.logprob - _summed_logprob(hf_engine, c, s.text, 0.8)) for c, s in samples)
    # Measured against an fp32 model: 0.32 nats from the untempered sums, 4.1 from the tempered ones.
    assert off_raw < off_tempered / 3, (off_raw, off_tempered)


def test_greedy_n_returns_n_copies(vllm_engine) -> None:
    out = vllm_engine.generate(convs(QUESTIONS[:2]), SamplingConfig(n=3, max_new_tokens=8))
    assert [len(group) for group in out] == [3, 3]
    assert all(len({c.text for c in group}) == 1 for group in out)


def test_empty_batches(vllm_engine) -> None:
    assert vllm_engine.generate([], SamplingConfig()) == []
    assert vllm_engine.score([], []) == []
