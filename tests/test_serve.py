"""The reward service for real: ``python -m gram_rr.serve`` in a subprocess on a local Ray, over HTTP.

One server (the tiny model on the transformers engine, float32 so that batch shapes do not
change greedy text) serves the whole module; an in-process reasoner on the same model gives
the answers every endpoint must match.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.error
import urllib.request

import pytest

from gram_rr.engines import EngineConfig
from gram_rr.engines.hf import HFEngine
from gram_rr.judge import JudgeConfig, RewardReasoner
from gram_rr.prompts import JUDGE_TEMPLATE, load_template
from gram_rr.rl import GroupJudgeReward
from gram_rr.rl.group_reward import first_wins
from gram_rr.serve.client import RemoteJudge, ServiceError, request_json
from gram_rr.serve.launch import ServerProcess

pytestmark = pytest.mark.ray

MAX_NEW_TOKENS = 16
MAX_MODEL_LEN = 512


def server_args(model_dir: str, *extra: str) -> list[str]:
    return [
        "--model", model_dir, "--engine", "hf", "--batch-wait-s", "0.05",
        "engine.dtype=float32", f"engine.max_model_len={MAX_MODEL_LEN}", f"--judge.max_new_tokens={MAX_NEW_TOKENS}",
        *extra,
    ]


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    with ServerProcess(server_args(tiny_model_dir), tmp_path_factory.mktemp("serve") / "server.log") as process:
        yield process


@pytest.fixture(scope="module")
def local(tiny_model_dir):
    """The same judge in this process."""
    engine = HFEngine(EngineConfig(backend="hf", model=tiny_model_dir, dtype="float32", max_model_len=MAX_MODEL_LEN))
    with RewardReasoner(engine, JudgeConfig(max_new_tokens=MAX_NEW_TOKENS)) as reasoner:
        yield reasoner


def post(url: str, body, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """POST ``body`` (bytes as they are, anything else as JSON): the status and decoded answer."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        text = err.read()
        try:
            return err.code, json.loads(text)
        except ValueError:
            return err.code, {"error": text.decode(errors="replace")}


def same_answers(remote: dict, verdict) -> bool:
    """A verdict from the server equals an in-process one: winner, every vote's answer, text and length."""
    votes = [(v["answer"], v["swapped"], v["num_tokens"], v["rationale"]) for v in remote["votes"]]
    return remote["winner"] == verdict.winner and votes == [
        (v.answer, v.swapped, v.num_tokens, v.rationale) for v in verdict.votes
    ]


def test_health_and_info(server, tiny_model_dir):
    assert request_json(f"{server.url}/health") == {"status": "ok"}
    info = request_json(f"{server.url}/info")
    assert info["model"] == tiny_model_dir
    assert info["prompt_template_sha256"] == hashlib.sha256(load_template(JUDGE_TEMPLATE).encode()).hexdigest()
    assert info["judge"]["max_new_tokens"] == MAX_NEW_TOKENS and info["engine"]["backend"] == "hf"
    assert info["max_prompt_tokens"] == MAX_MODEL_LEN - MAX_NEW_TOKENS


def test_compare_with_votes_both_orders_and_rationales(server):
    pairs = [{"question": "What is 2+2?", "a": "4", "b": "5"},
             {"question": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                           {"role": "user", "content": "Name a colour."}], "a": "Blue", "b": "Seven"}]
    status, answer = post(f"{server.url}/compare", {"pairs": pairs, "votes": 2, "both_orders": True, "rationales": True})
    assert status == 200 and len(answer["verdicts"]) == 2
    for verdict in answer["verdicts"]:
        assert [v["swapped"] for v in verdict["votes"]] == [False, False, True, True]
        assert sum(verdict["vote_counts"].values()) + verdict["abstentions"] == 4
        assert all(isinstance(v["rationale"], str) and v["num_tokens"] <= MAX_NEW_TOKENS for v in verdict["votes"])
    status, answer = post(f"{server.url}/compare", {"pairs": pairs[:1]})
    assert status == 200 and "rationale" not in answer["verdicts"][0]["votes"][0]
    assert len(answer["verdicts"][0]["votes"]) == 1  # the server's judge.votes=1, one order


def test_32_concurrent_clients_get_the_in_process_answers_from_a_few_engine_batches(server, local):
    pairs = [(f"Question {k}: what is {k} + {k}?", f"{2 * k}", f"{2 * k + 1} or so") for k in range(32)]
    before = request_json(f"{server.url}/info")["replica"]
    answers: list = [None] * len(pairs)
    start = threading.Barrier(len(pairs))

    def client(k: int) -> None:
        question, a, b = pairs[k]
        start.wait()
        answers[k] = post(f"{server.url}/compare", {"pairs": [{"question": question, "a": a, "b": b}], "rationales": True})

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(pairs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = request_json(f"{server.url}/info")["replica"]
    assert all(status == 200 for status, _ in answers)
    expected = local.compare_many(pairs)
    assert all(same_answers(answer["verdicts"][0], verdict) for (_, answer), verdict in zip(answers, expected))
    assert after["jobs"] - before["jobs"] == 32 and after["pairs"] - before["pairs"] == 32  # each answered once
    assert 1 <= after["engine_batches"] - before["engine_batches"] <= 8


def test_rank_and_best_of_n(server):
    question, candidates = "Name a fruit.", ["apple", "a red apple", "stone", "banana bread", "pear"]
    status, ranked = post(f"{server.url}/rank", {"question": question, "candidates": candidates})
    assert status == 200 and sorted(ranked["ranking"]) == list(range(5)) and ranked["best"] == ranked["ranking"][0]
    assert all({c["a"], c["b"]} <= set(range(5)) and c["a"] != c["b"] for c in ranked["comparisons"])
    status, best = post(f"{server.url}/best_of_n", {"question": question, "candidates": candidates})
    assert status == 200 and 0 <= best["best"] < 5 and "ranking" not in best
    assert len(best["comparisons"]) == 4  # a knockout over 5 candidates plays 4 games
    remote = RemoteJudge(server.url)
    assert remote.rank(question, candidates) == ranked["ranking"]  # seeded by the question's content
    assert remote.best_of_n(question, candidates) == best["best"]


def test_get_reward_speaks_openrlhfs_protocol(server, local, tiny_model_dir):
    """The request exactly as OpenRLHF 0.11's SingleTurnAgentExecutor builds it: the dataset's templated
    prompt, and the query decoded from prompt + response tokens with special tokens kept."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rollouts = [("What is 2+2?", "It is 4.", "4"), ("Name a prime.", "Nine.", "7")]
    queries, prompts, labels = [], [], []
    for question, response, label in rollouts:
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                               add_generation_prompt=True)
        prompt_ids = tokenizer(text=prompt, add_special_tokens=False, return_tensors="pt")["input_ids"][0].tolist()
        action_ids = tokenizer(response + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        queries.append(tokenizer.decode(prompt_ids + action_ids, skip_special_tokens=False))
        prompts.append(prompt)
        labels.append(label)
    status, answer = post(f"{server.url}/get_reward", {"query": queries, "prompts": prompts, "labels": labels})
    assert status == 200 and set(answer) == {"rewards", "scores", "extra_logs"}
    expected = [first_wins(v) for v in local.compare_many([(q, r, l) for q, r, l in rollouts], both_orders=True)]
    assert answer["rewards"] == pytest.approx(expected, abs=1e-6) and answer["scores"] == answer["rewards"]
    assert all(len(values) == 2 for values in answer["extra_logs"].values())
    status, one = post(f"{server.url}/get_reward", {"query": queries[:1], "prompts": prompts[:1], "labels": labels[:1]})
    assert status == 200 and one["rewards"] == pytest.approx(expected[:1], abs=1e-6)  # OpenRLHF sends one per request


def test_get_reward_without_labels_judges_against_earlier_responses_to_the_prompt(server, local, tiny_model_dir):
    """No labels (OpenRLHF without --label_key sends ""; left out works too): the first response to a
    prompt is the neutral 0.5, each later one the mean P(better) against the earlier ones, both orders."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)

    def unlabeled(question: str, response: str) -> dict:
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                               add_generation_prompt=True)
        return {"query": [prompt + response + "<|im_end|>"], "prompts": [prompt]}

    question, responses = "Name a colour you like.", ["Blue.", "Green, like grass.", "Seven."]
    answers = []
    for k, response in enumerate(responses):
        labels = {"labels": [""]} if k % 2 else {}  # OpenRLHF's empty label, or none at all
        status, answer = post(f"{server.url}/get_reward", {**unlabeled(question, response), **labels})
        assert status == 200, answer
        answers.append(answer)
    assert answers[0]["rewards"] == [0.5] and answers[0]["extra_logs"]["judge_no_opponent"] == [1.0]
    second = first_wins(local.compare(question, responses[1], responses[0], both_orders=True))
    third = local.compare_many([(question, responses[2], responses[0]), (question, responses[2], responses[1])],
                               both_orders=True)
    assert answers[1]["rewards"] == pytest.approx([second], abs=1e-6)
    assert answers[2]["rewards"] == pytest.approx([sum(map(first_wins, third)) / 2], abs=1e-6)
    assert [a["extra_logs"]["judge_opponents"] for a in answers] == [[0.0], [1.0], [2.0]]
    # a response too long to meet an equally long opponent is refused, and not remembered
    fresh = "Count to three."
    status, answer = post(f"{server.url}/get_reward", unlabeled(fresh, "one " * 300))
    assert status == 413 and answer["field"] == "query[0]"
    status, answer = post(f"{server.url}/get_reward", unlabeled(fresh, "1 2 3"))
    assert status == 200 and answer["rewards"] == [0.5] and answer["extra_logs"]["judge_no_opponent"] == [1.0]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/compare", b'{"pairs": [', None),
        ("/compare", {"pairs": [{"question": "q", "a": "x", "b": 3}]}, "pairs[0].b"),
        ("/compare", {"pairs": [{"question": "q", "a": "x", "b": "y"}], "votes": "two"}, "votes"),
        ("/rank", {"question": "q"}, "candidates"),
        ("/best_of_n", {"question": 7, "candidates": ["a", "b"]}, "question"),
        ("/get_reward", {"query": ["plain text"], "prompts": ["other text"], "labels": ["x"]}, "query[0]"),
        ("/get_reward", {"query": ["q"], "prompts": ["q"], "labels": ["a", "b"]}, "labels"),
    ],
)
def test_malformed_requests_are_400_naming_the_field(server, path, body, field):
    status, answer = post(f"{server.url}{path}", body)
    assert status == 400 and answer["field"] == field and answer["error"]


def test_a_prompt_longer_than_the_model_fits_is_413_with_the_lengths(server):
    status, answer = post(f"{server.url}/compare", {"pairs": [{"question": "word " * 2000, "a": "x", "b": "y"}]})
    assert status == 413 and answer["field"] == "pairs[0]"
    assert f"at most {MAX_MODEL_LEN - MAX_NEW_TOKENS}" in answer["error"] and str(MAX_MODEL_LEN) in answer["error"]
    with pytest.raises(ServiceError) as err:
        RemoteJudge(server.url).rank("word " * 2000, ["a", "b"])
    assert err.value.status == 413 and err.value.field == "candidates"


def test_a_request_past_its_timeout_is_408_and_the_server_goes_on(server):
    body = {"pairs": [{"question": f"q{k}", "a": "x" * k, "b": "y"} for k in range(8)]}
    status, _ = post(f"{server.url}/compare", body, headers={"x-request-timeout-seconds": "0.01"})
    assert status == 408
    status, answer = post(f"{server.url}/compare", body)
    assert status == 200 and len(answer["verdicts"]) == 8


def test_remote_judge_drives_group_judge_reward_as_in_process(server, local):
    prompts = ["Name a fruit."] * 3 + ["Count to three."] * 3
    completions = ["apple", "stone", "a pear", "1 2 3", "one, two", "3 2 1"]
    remote = GroupJudgeReward(RemoteJudge(server.url))(prompts=prompts, completions=completions)
    expected = GroupJudgeReward(local)(prompts=prompts, completions=completions)
    assert remote == pytest.approx(expected, abs=1e-6)
    assert sum(remote[:3]) == pytest.approx(1.5) and sum(remote[3:]) == pytest.approx(1.5)  # round robin: n / 2


def test_verl_compute_score_asks_the_server(server, local, monkeypatch):
    from gram_rr.rl import verl_reward

    monkeypatch.setenv(verl_reward.URL_ENV, server.url)
    score = verl_reward.compute_score("gsm8k", "It is 4.", "4", {"question": "What is 2+2?"})
    expected = first_wins(local.compare("What is 2+2?", "It is 4.", "4", both_orders=True))
    assert 0.0 <= score <= 1.0 and score == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="question"):
        verl_reward.compute_score("gsm8k", "It is 4.", "4", {})
