"""Answer-token probabilities: where the answer letter is, what each engine reports there
(transformers on a tiny model trained in-process, vLLM on the default model), how votes pool
into a verdict's probability, the TRL soft judge, and pseudo-label selection by probability."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import pytest
import torch

from gram_rr.engines import EngineConfig, SamplingConfig, build_engine
from gram_rr.engines.answer import AnswerReader, answer_offset
from gram_rr.engines.base import Completion
from gram_rr.engines.tokens import scoring_ids
from gram_rr.judge import JudgeConfig, RewardReasoner, combine_votes
from gram_rr.parsing import format_judgment, parse_answer
from gram_rr.selftrain.filters import keep_prediction, predicted_label
from gram_rr.selftrain.recipe import PredictConfig
from gram_rr.verdict import Verdict, Vote, letter_probability, pooled_probability


def convs(texts: list[str]) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": t}] for t in texts]


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def letter_ids(tokenizer) -> dict[str, list[int]]:
    """Every token whose text, stripped, is the letter (computed here, independently of the engines)."""
    return {L: [i for i in range(len(tokenizer)) if tokenizer.decode([i]).strip() == L] for L in "AB"}


def reference_letter_logprobs(model, tokenizer, conversation, text: str, temperature: float = 1.0) -> dict[str, float]:
    """Teacher-force prompt + ``text`` in fp32 and read log-softmax(logits / T) at the answer letter:
    the first non-blank token after the last "<answer>" marker in the continuation."""
    ids, n_context = scoring_ids(tokenizer, conversation, text)
    continuation = ids[n_context:]
    marker = tokenizer("<answer>", add_special_tokens=False)["input_ids"]
    starts = [i for i in range(len(continuation)) if continuation[i : i + len(marker)] == marker]
    step = starts[-1] + len(marker)
    while not tokenizer.decode([continuation[step]]).strip():
        step += 1
    with torch.no_grad():
        logits = model(torch.tensor([ids], device=model.device)).logits[0, n_context + step - 1].float()
    logprobs = torch.log_softmax(logits / temperature, dim=-1)
    return {L: torch.logsumexp(logprobs[ids_], dim=0).item() for L, ids_ in letter_ids(tokenizer).items()}


# ---- the answer position -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<think>x</think>\n<answer>\nA\n</answer>",
        "<answer> B</answer>",
        "<answer>**B**</answer>",
        "<ANSWER>\n b \n</ANSWER>",
        "<answer>A</answer> on reflection <answer>\n\"B\"\n</answer>",
        "<answer>\nA or B\n</answer>",
    ],
)
def test_answer_offset_points_at_the_letter_the_parser_reads(text):
    offset = answer_offset(text)
    answer = parse_answer(text)
    assert offset is not None
    if answer is not None:
        assert text[offset].upper() == answer
    assert text.lower().rfind("<answer>") < offset < text.lower().rfind("</answer>")  # inside the final block


@pytest.mark.parametrize("text", ["<answer>\nA", "no block", "<answer>\n \n</answer>", "<think>A</think>"])
def test_no_answer_position_without_a_closed_block_with_a_letter(text):
    assert answer_offset(text) is None


@pytest.fixture(scope="module")
def reader(smollm2_dir):
    from transformers import AutoTokenizer

    return AnswerReader(AutoTokenizer.from_pretrained(smollm2_dir))


def test_letter_tokens_include_whitespace_fused_ones(reader):
    tokenizer = reader.tokenizer
    assert reader.letter_ids == letter_ids(tokenizer)
    for letter in "AB":
        texts = {tokenizer.decode([i]) for i in reader.letter_ids[letter]}
        assert letter in texts and f" {letter}" in texts
    assert reader.candidate_ids == reader.letter_ids["A"] + reader.letter_ids["B"]


@pytest.mark.parametrize("text", ["<think>ok</think>\n<answer>\nA\n</answer>", "<think>A</think><answer> B</answer>"])
def test_answer_step_is_the_token_holding_the_letter(reader, text):
    ids = reader.tokenizer(text, add_special_tokens=False)["input_ids"]
    step = reader.answer_step(ids, text)
    assert reader.tokenizer.decode([ids[step]]).strip() == parse_answer(text)
    assert reader.tokenizer.decode(ids[:step]).rstrip().endswith("<answer>")  # right after the final marker
    assert reader.answer_step(ids, "different text <answer>\nA\n</answer>") is None  # tokens must spell the text


def test_letter_logprobs_pool_variants_and_bound_a_missing_letter_by_the_floor(reader):
    a, space_a = reader.tokenizer.convert_tokens_to_ids(["A", "ĠA"])
    b = reader.tokenizer.convert_tokens_to_ids("B")
    pooled = reader.letter_logprobs({a: math.log(0.3), space_a: math.log(0.2), b: math.log(0.1), 7: -0.1})
    assert pooled["A"] == pytest.approx(math.log(0.5)) and pooled["B"] == pytest.approx(math.log(0.1))
    # a top-k record without B: B takes the k-th log-probability (an upper bound on each B token)
    bounded = reader.letter_logprobs({a: -0.2, 7: -2.0, 8: -6.5}, floor=-6.5)
    assert bounded == {"A": pytest.approx(-0.2), "B": -6.5}
    assert letter_probability(bounded) <= letter_probability({"A": -0.2, "B": -9.0})  # leans toward 0.5
    assert reader.letter_logprobs({a: -0.2, 7: -2.0}) is None  # no floor: an incomplete record gives nothing
    assert reader.letter_logprobs({7: -0.1, 8: -3.0}, floor=-3.0) is None  # neither letter seen


# ---- transformers engine on a tiny model trained to write judgments ------------------------------

# Short prompts; the tiny model learns to answer each with its target (two targets: a near-even choice).
TARGETS = {
    "good bad": ["<think>ok</think>\n<answer>\nA\n</answer>"],
    "bad good": ["<think>ok</think>\n<answer> B</answer>"],  # the letter fused with a space
    "same same": ["<think>ok</think>\n<answer>\nA\n</answer>", "<think>ok</think>\n<answer>\nB\n</answer>"],
    "odd odd": ["<think>ok</think>\n<answer>\nA or B\n</answer>"],  # an abstention with a letter position
    "cut cut": ["<think>ok</think>\n<answer>\nB"],  # never closes its block
}


@pytest.fixture(scope="module")
def judge_model_dir(tmp_path_factory, smollm2_dir) -> str:
    """A 2-layer Llama (SmolLM2's tokenizer) trained in fp32 until it writes TARGETS greedily."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = LlamaForCausalLM(
            LlamaConfig(
                vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
            )
        )
    items = [
        scoring_ids(tokenizer, conversation, target + tokenizer.eos_token)
        for prompt, targets in TARGETS.items()
        for conversation, target in zip(convs([prompt] * len(targets)), targets)
    ]
    width = max(len(ids) for ids, _ in items)
    input_ids = torch.tensor([ids + [tokenizer.pad_token_id] * (width - len(ids)) for ids, _ in items])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in items])
    rows = torch.tensor([r for r, (ids, n) in enumerate(items) for _ in range(n - 1, len(ids) - 1)])
    cols = torch.tensor([p for ids, n in items for p in range(n - 1, len(ids) - 1)])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(200):  # the LM head runs on the target positions only (the vocabulary is 49k)
        hidden = model.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
        loss = torch.nn.functional.cross_entropy(model.lm_head(hidden[rows, cols]), input_ids[rows, cols + 1])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1, f"the tiny judge did not learn its targets (loss {loss.item():.3f})"
    path = tmp_path_factory.mktemp("tiny-judge")
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def tiny_judge(judge_model_dir):
    # hf_batch_size=2: length-sorted micro-batches with left padding
    engine = build_engine(EngineConfig(backend="hf", model=judge_model_dir, dtype="float32", hf_batch_size=2))
    yield engine
    engine.close()


def test_hf_greedy_answer_logprobs_match_a_manual_forward_pass(tiny_judge):
    prompts = list(TARGETS)
    out = tiny_judge.generate(convs(prompts), SamplingConfig(max_new_tokens=24))
    for prompt, conversation, (completion,) in zip(prompts, convs(prompts), out):
        assert completion.text in TARGETS[prompt], (prompt, completion.text)
        if prompt == "cut cut":
            assert completion.answer_logprobs is None  # the block never closes
            continue
        expected = reference_letter_logprobs(tiny_judge.model, tiny_judge.tokenizer, conversation, completion.text)
        assert completion.answer_logprobs == {L: pytest.approx(v, abs=1e-4) for L, v in expected.items()}
    by_prompt = {p: group[0] for p, group in zip(prompts, out)}
    assert letter_probability(by_prompt["good bad"].answer_logprobs) > 0.9
    assert letter_probability(by_prompt["bad good"].answer_logprobs) < 0.1  # read through the fused " B" token
    assert 0.2 < letter_probability(by_prompt["same same"].answer_logprobs) < 0.8


def test_hf_sampled_answer_logprobs_are_untempered(tiny_judge):
    temperature = 1.2
    prompts = ["good bad", "same same"]
    out = tiny_judge.generate(convs(prompts), SamplingConfig(n=6, temperature=temperature, max_new_tokens=24, seed=3))
    checked = dict.fromkeys(prompts, 0)
    for prompt, conversation, group in zip(prompts, convs(prompts), out):
        for completion in group:
            if completion.answer_logprobs is None:  # a sample that strayed from the format
                continue
            args = (tiny_judge.model, tiny_judge.tokenizer, conversation, completion.text)
            raw, tempered = reference_letter_logprobs(*args), reference_letter_logprobs(*args, temperature=temperature)
            assert completion.answer_logprobs == {L: pytest.approx(v, abs=1e-4) for L, v in raw.items()}
            if prompt == "good bad":  # a confident step: tempering moves the unlikely letter by nats
                assert abs(completion.answer_logprobs["B"] - tempered["B"]) > 0.3
            checked[prompt] += 1
    assert min(checked.values()) >= 3, checked


def shown_responses(conversation) -> tuple[str, str]:
    """The (A, B) responses a judge prompt shows."""
    a, b = re.findall(r"Assistant [AB]'s Response\]\n(.*?)\n\[The End", conversation[-1]["content"])
    return a, b


class ShortPromptEngine:
    """Shows the tiny judge "<A> <B>" (the two responses of a judge prompt) instead of the long
    prompt; keeps the completions it returned."""

    def __init__(self, engine):
        self.engine = engine
        self.completions: list[list[Completion]] = []

    def generate(self, conversations, sampling):
        shown = [shown_responses(c) for c in conversations]
        self.completions = self.engine.generate(convs([f"{a} {b}" for a, b in shown]), sampling)
        return self.completions


def test_hf_votes_carry_the_normalised_letter_probability(tiny_judge):
    engine = ShortPromptEngine(tiny_judge)
    judge = RewardReasoner(engine)
    pairs = [("q", "good", "bad"), ("q", "same", "same"), ("q", "odd", "odd"), ("q", "cut", "cut")]
    verdicts = judge.compare_many(pairs, both_orders=True)
    for k, verdict in enumerate(verdicts):
        for vote, (completion,) in zip(verdict.votes, engine.completions[2 * k : 2 * k + 2]):
            assert vote.text == completion.text
            if vote.answer is None:  # an abstention ("A or B") or a block that never closes
                assert vote.probability is None
                assert (completion.answer_logprobs is not None) == ("A or B" in completion.text)
                continue
            lp = completion.answer_logprobs
            p_shown_a = math.exp(lp["A"]) / (math.exp(lp["A"]) + math.exp(lp["B"]))
            p_shown_b = math.exp(lp["B"]) / (math.exp(lp["A"]) + math.exp(lp["B"]))
            assert p_shown_a + p_shown_b == pytest.approx(1.0)
            assert vote.probability == pytest.approx(p_shown_b if vote.swapped else p_shown_a, abs=1e-9)
    good, same, odd, cut = verdicts
    assert good.winner == "A" and good.probability > 0.9
    assert same.probability == pytest.approx(0.5, abs=1e-6)  # "same same" both ways: the orders cancel exactly
    assert odd.probability is None and cut.probability is None
    assert "probability" in good.to_dict() and good.to_dict()["votes"][0]["probability"] == good.votes[0].probability


# ---- pooling votes into a verdict ----------------------------------------------------------------


def vote(p, swapped=False, answer="A"):
    return Vote(answer, "", swapped=swapped, probability=p)


def test_verdict_probability_is_the_order_weighted_mean_log_odds():
    votes = [vote(0.9), vote(0.6), vote(0.8, swapped=True)]
    expected = sigmoid(((logit(0.9) + logit(0.6)) / 2 + logit(0.8)) / 2)  # each order weighs half
    assert pooled_probability(votes) == pytest.approx(expected)
    assert combine_votes(votes).probability == pytest.approx(expected)
    # one order only: the plain mean of its log-odds
    assert pooled_probability([vote(0.9), vote(0.6)]) == pytest.approx(sigmoid((logit(0.9) + logit(0.6)) / 2))
    # votes without a probability do not count; none at all gives None
    assert pooled_probability(votes + [Vote(None, "", swapped=True)]) == pytest.approx(expected)
    assert pooled_probability([Vote(None, ""), Vote("A", "")]) is None
    assert combine_votes([Vote(None, "")]).probability is None
    # clamped to [1e-4, 1 - 1e-4]: certain votes have finite log-odds
    assert pooled_probability([vote(1.0), vote(0.0, swapped=True)]) == pytest.approx(0.5)
    assert pooled_probability([vote(1.0)]) == pytest.approx(1 - 1e-4)


def test_combine_votes_keeps_its_winner_rule_whatever_the_probability():
    verdict = combine_votes([vote(0.45), vote(0.45), vote(0.99, answer="B")])
    assert verdict.winner == "A" and verdict.confidence == pytest.approx(2 / 3)
    tie = combine_votes([vote(0.9), vote(0.2, answer="B")])
    assert tie.winner is None and tie.probability is not None


def judgment_engine(score):
    """A fake engine: every prompt answers with the letter its log-probs favour; ``score(a, b)``
    gives the shown-A log-odds for the shown responses."""

    class Engine:
        def __init__(self):
            self.shown: list[tuple[str, str]] = []

        def generate(self, conversations, sampling):
            out = []
            for c in conversations:
                a, b = shown_responses(c)
                self.shown.append((a, b))
                x = score(a, b)
                lp = {"A": -math.log1p(math.exp(-x)), "B": -math.log1p(math.exp(x))}
                text = format_judgment("because", "A" if x > 0 else "B")
                out.append([Completion(text=text, num_tokens=9, answer_logprobs=lp) for _ in range(sampling.n)])
            return out

        def score(self, conversations, continuations):
            raise NotImplementedError

        def close(self):
            pass

    return Engine()


def test_swapped_votes_are_flipped_and_a_constant_position_bias_cancels():
    quality = {"good": 1.5, "fine": 0.5, "bad": -1.0}
    bias = 2.0  # the first-shown response gets +2 log-odds whatever it is
    engine = judgment_engine(lambda a, b: quality[a] - quality[b] + bias)
    verdicts = RewardReasoner(engine).compare_many([("q", "good", "bad"), ("q", "bad", "fine")], both_orders=True)
    for verdict, (a, b) in zip(verdicts, [("good", "bad"), ("bad", "fine")]):
        original, swapped = verdict.votes
        assert original.probability == pytest.approx(sigmoid(quality[a] - quality[b] + bias))
        assert swapped.probability == pytest.approx(1 - sigmoid(quality[b] - quality[a] + bias))  # flipped back
        assert verdict.probability == pytest.approx(sigmoid(quality[a] - quality[b]))  # the bias is gone
    one_order = RewardReasoner(engine).compare("q", "bad", "fine")
    assert one_order.probability == pytest.approx(sigmoid(-1.5 + bias))  # one order keeps the bias


def test_trl_soft_judge_returns_p_first_better_through_the_shuffle():
    quality = {f"c{i}": float(i) for i in range(8)}
    engine = judgment_engine(lambda a, b: quality[a] - quality[b] + 0.7)  # with a position bias
    judge = RewardReasoner(engine, JudgeConfig(seed=0))
    pairs = [[f"c{i}", f"c{j}"] for i, j in [(0, 1), (3, 2), (5, 7), (6, 4), (1, 6), (7, 0)]]
    scores = judge.judge(["q"] * len(pairs), pairs, return_scores=True)
    flipped = [shown != tuple(pair) for shown, pair in zip(engine.shown, pairs)]
    assert any(flipped) and not all(flipped)  # both shown orders occurred
    for (first, second), flip, score in zip(pairs, flipped, scores):
        if flip:  # shown (second, first): P(first better) = 1 - P(shown A better)
            assert score == pytest.approx(1 - sigmoid(quality[second] - quality[first] + 0.7))
        else:
            assert score == pytest.approx(sigmoid(quality[first] - quality[second] + 0.7))
    unbiased = judgment_engine(lambda a, b: quality[a] - quality[b])
    ranks = RewardReasoner(unbiased, JudgeConfig(seed=0)).judge(["q"] * len(pairs), pairs)
    assert ranks == [0 if quality[a] > quality[b] else 1 for a, b in pairs]


def test_trl_soft_judge_gives_none_without_a_probability():
    class Abstains:
        def generate(self, conversations, sampling):
            return [[Completion("<think>no idea</think>", 3)] for _ in conversations]

    judge = RewardReasoner(Abstains())
    assert judge.judge(["q"], [["x", "y"]], return_scores=True) == [None]
    assert judge.judge(["q"], [["x", "y"]]) == [-1]


# ---- pseudo-label selection ----------------------------------------------------------------------


def test_keep_prediction_by_probability_margin():
    config = PredictConfig(select="probability", min_probability_margin=0.25)
    sure_b = Verdict(winner="A", confidence=0.5, votes=[], probability=0.1)  # the votes say A, the probability B
    assert keep_prediction(sure_b, config) is None and predicted_label(sure_b, config) == "B"
    assert keep_prediction(Verdict("A", 1.0, [], probability=0.75), config) is None  # exactly the margin
    assert keep_prediction(Verdict("A", 1.0, [], probability=0.74), config) == "low_probability_margin"
    assert keep_prediction(Verdict("B", 1.0, [], probability=0.26), config) == "low_probability_margin"
    assert keep_prediction(Verdict("A", 1.0, [], probability=None), config) == "no_probability"
    even = Verdict(None, 0.0, [], probability=0.5)
    assert keep_prediction(even, PredictConfig(select="probability", min_probability_margin=0.0)) == "low_probability_margin"
    votes = PredictConfig(select="votes", min_vote_share=0.75)  # today's rule ignores the probability
    assert keep_prediction(sure_b, votes) == "low_vote_share" and predicted_label(sure_b, votes) == "A"
    with pytest.raises(ValueError, match="min_probability_margin"):
        PredictConfig(min_probability_margin=0.6)


# ---- vLLM on the default model -------------------------------------------------------------------


def few_shot(letters: str, question: str) -> list[dict[str, str]]:
    """Earlier turns answered in the judgment format, so the default model writes one too."""
    conversation = []
    for i, letter in enumerate(letters):
        conversation += [
            {"role": "user", "content": f"Question {i + 1}: which response is better, A or B?"},
            {"role": "assistant", "content": f"<think>Response {letter} is better.</think>\n<answer>\n{letter}\n</answer>"},
        ]
    return conversation + [{"role": "user", "content": question}]


FEW_SHOT = [
    few_shot("ABA", "Question 4: which response is better, A or B?"),
    few_shot("BAB", "Question 4: which response is better, A or B?"),
    few_shot("AA", "Question 3: which response is better, A or B?"),
]
# vLLM computes in bf16: its letter log-probabilities were within 0.045 nats of an fp32 forward
# pass of the same weights (12 samples); the tolerance leaves 3x room for other CPUs' kernels.
BF16_NATS = 0.15


@pytest.fixture(scope="module")
def fp32_reference(smollm2_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(smollm2_dir)


@pytest.fixture
def spied(vllm_engine, monkeypatch):
    """Every raw vLLM result (and its sampling parameters) behind the engine's next calls."""
    calls = []
    generate = vllm_engine.llm.generate

    def spy(prompts, params, **kwargs):
        outputs = generate(prompts, params, **kwargs)
        calls.append((params, outputs))
        return outputs

    monkeypatch.setattr(vllm_engine.llm, "generate", spy)
    return calls


# The few-shot judgments' shape: their answer letter is their last letter token.
JUDGMENT = re.compile(r"<think>[^<]*</think>\n<answer>\n[AB]\n</answer>")


def last_letter_step(output) -> int:
    return max(i for i, t in enumerate(output.token_ids) if output.logprobs[i][t].decoded_token.strip() in ("A", "B"))


def vllm_letter_logprobs(output) -> dict[str, float]:
    """The letters' log-probabilities from vLLM's own top-k record, tokens matched by vLLM's decoded text."""
    top = output.logprobs[last_letter_step(output)]
    return {
        L: math.log(sum(math.exp(lp.logprob) for lp in top.values() if lp.decoded_token.strip() == L)) for L in "AB"
    }


@pytest.mark.model
@pytest.mark.vllm
@pytest.mark.parametrize("temperature", [0.0, 0.5])
def test_vllm_answer_logprobs_are_its_raw_top_k_and_agree_with_transformers(vllm_engine, spied, fp32_reference, temperature):
    model, tokenizer = fp32_reference
    out = vllm_engine.generate(FEW_SHOT, SamplingConfig(n=2, temperature=temperature, max_new_tokens=32))
    ((params, raw),) = spied
    assert params.logprobs >= 20
    checked, off_raw, off_tempered = 0, 0.0, 0.0
    for conversation, group, request in zip(FEW_SHOT, out, raw):
        for completion, output in zip(group, request.outputs * (2 if temperature == 0 else 1)):
            assert completion.text == output.text
            if not JUDGMENT.fullmatch(completion.text):
                continue
            reported = vllm_letter_logprobs(output)
            assert completion.answer_logprobs == {L: pytest.approx(v, abs=1e-6) for L, v in reported.items()}
            reference = reference_letter_logprobs(model, tokenizer, conversation, completion.text)
            for L in "AB":
                assert abs(completion.answer_logprobs[L] - reference[L]) < BF16_NATS, (completion.answer_logprobs, reference)
            if temperature > 0:
                tempered = reference_letter_logprobs(model, tokenizer, conversation, completion.text, temperature)
                off_raw += sum(abs(completion.answer_logprobs[L] - reference[L]) for L in "AB")
                off_tempered += sum(abs(completion.answer_logprobs[L] - tempered[L]) for L in "AB")
            checked += 1
    assert checked >= 3
    if temperature > 0:  # sampled at T=0.5, yet read from the raw distribution, not the tempered one
        assert off_raw < off_tempered / 3, (off_raw, off_tempered)


@pytest.mark.model
@pytest.mark.vllm
def test_vllm_cut_off_answers_have_none_and_a_letter_missing_from_the_top_k_takes_the_kth(vllm_engine, spied):
    full = vllm_engine.generate(FEW_SHOT[:1], SamplingConfig(max_new_tokens=32))[0][0]
    output = spied[-1][1][0].outputs[0]
    assert JUDGMENT.fullmatch(full.text) and full.answer_logprobs is not None
    step = last_letter_step(output)
    # cut off just before the letter, and just after it (the block never closes)
    for budget in (step, step + 1):
        cut = vllm_engine.generate(FEW_SHOT[:1], SamplingConfig(max_new_tokens=budget))[0][0]
        assert cut.finish_reason == "length" and full.text.startswith(cut.text)
        assert cut.answer_logprobs is None
    # the full output with every token of the letter not chosen taken out of the answer step's top-k record
    chosen = parse_answer(full.text)
    other = "B" if chosen == "A" else "A"
    top = output.logprobs[step]
    kth = min(lp.logprob for lp in top.values() if lp.rank <= 20)
    logprobs = list(output.logprobs)
    logprobs[step] = {t: lp for t, lp in top.items() if lp.decoded_token.strip() != other}
    bounded = vllm_engine._answer_logprobs(SimpleNamespace(token_ids=output.token_ids, text=output.text, logprobs=logprobs))
    assert bounded == {chosen: full.answer_logprobs[chosen], other: kth}
    assert kth <= full.answer_logprobs[other]
