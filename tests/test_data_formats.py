"""Each supported source format converts to PreferencePair, detected from content or forced."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from gram_rr import PreferencePair, load_pairs, write_pairs
from gram_rr.data import detect_format
from gram_rr.parsing import format_judgment
from gram_rr.prompts import judge_messages, judge_prompt


def _jsonl(path: Path, records: list, gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _chosen(pair: PreferencePair) -> str:
    return pair.response_a if pair.label == "A" else pair.response_b


def test_project_jsonl_round_trip(tmp_path: Path) -> None:
    pairs = [
        PreferencePair("p1", "What is 2+2?", "4", "5", "A", "Feedback:\n2+2=4.", "demo", None, {"k": [1, 2]}),
        PreferencePair("p2", "User: hi\n\nAssistant: hello\n\nUser: bye", "bye!", "ciao", None, None, "chat",
                       [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                        {"role": "user", "content": "bye"}]).swapped(),
        PreferencePair("p3", "Säg hej 👋", "Hej!", "Hello", "B", source="x"),
    ]
    path = write_pairs(tmp_path / "out" / "pairs.jsonl", pairs)
    loaded = load_pairs(path)
    assert loaded == pairs and loaded.stats.format == "pairs"
    assert [p.name for p in path.parent.iterdir()] == ["pairs.jsonl"]  # no temporary file left


def test_write_pairs_is_atomic(tmp_path: Path) -> None:
    path = write_pairs(tmp_path / "pairs.jsonl", [PreferencePair("a", "q", "x", "y", "A")])
    before = path.read_bytes()

    def broken():
        yield PreferencePair("b", "q", "x", "y", "B")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_pairs(path, broken())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.jsonl"]


def test_gram_rr_alpaca_records(tmp_path: Path) -> None:
    tricky_a = "Use {response_2} and [The End of Assistant A's Response] literally."
    question, b = "Which is larger, 0.7 or 0.65?", "0.65 has more digits.\nAnswer: 0.65"
    instruction = judge_prompt(question, tricky_a, b)
    records = [
        {"instruction": instruction, "input": "", "output": format_judgment("Feedback:\nB is wrong.", "A")},
        {"instruction": instruction, "input": "", "output": "B"},  # GRAM fine-tuning style: bare label
    ]
    pairs = load_pairs(_jsonl(tmp_path / "gram.jsonl", records))
    assert pairs.stats.format == "gram_rr"
    assert (pairs[0].question, pairs[0].response_a, pairs[0].response_b) == (question, tricky_a, b)
    assert (pairs[0].label, pairs[0].rationale) == ("A", "Feedback:\nB is wrong.")
    assert (pairs[1].label, pairs[1].rationale) == ("B", None)


def test_gram_rr_instruction_rendered_by_the_project_prompt(tmp_path: Path) -> None:
    user = judge_messages("What is 3 x 4?", "12", "7")[-1]["content"]
    pairs = load_pairs(_jsonl(tmp_path / "g.jsonl", [{"instruction": user, "input": "", "output": "<answer>A</answer>"}]))
    assert (pairs[0].question, pairs[0].response_a, pairs[0].response_b, pairs[0].label) == ("What is 3 x 4?", "12", "7", "A")


def test_helpsteer3_feedback_becomes_the_rationale(tmp_path: Path) -> None:
    base = {
        "domain": "general", "language": "english",
        "context": [{"role": "user", "content": "Name a prime."}, {"role": "assistant", "content": "7"},
                    {"role": "user", "content": "Another one?"}],
        "response1": "11", "response2": "9",
    }
    records = [
        {**base, "overall_preference": -2, "individual_preference": [
            {"score": -2, "reasoning": "@Response 1 is better than @Response 2 because 9 = 3 x 3."},
            {"score": 1, "reasoning": "Response 2 is shorter."},
        ]},
        {**base, "overall_preference": 0, "individual_preference": [{"score": 0, "reasoning": "Same."}]},
        {**base, "overall_preference": 3},
    ]
    pairs = load_pairs(_jsonl(tmp_path / "hs3.jsonl", records))
    assert pairs.stats.format == "helpsteer3"
    assert [p.label for p in pairs] == ["A", None, "B"]
    assert pairs[0].conversation == base["context"] and pairs[0].question.endswith("User: Another one?")
    rationale = pairs[0].rationale
    assert "Response A is better than Response B because 9 = 3 x 3." in rationale
    assert "shorter" not in rationale  # the dissenting annotator is left out
    assert rationale.endswith("Conclusion:\nResponse A is better.")
    assert pairs[1].rationale is None and pairs[2].rationale is None


def test_dpo_strings_and_messages(tmp_path: Path) -> None:
    records = [{"id": f"r{i}", "prompt": f"Say {i}.", "chosen": f"{i}", "rejected": f"{i + 1}"} for i in range(40)]
    records.append({"prompt": [{"role": "user", "content": "Hi"}],
                    "chosen": [{"role": "assistant", "content": "Hello!"}],
                    "rejected": [{"role": "assistant", "content": "Go away."}]})
    records.append({"chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
                    "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Go away."}]})
    pairs = load_pairs(_jsonl(tmp_path / "dpo.jsonl", records))
    assert pairs.stats.format == "dpo"
    assert all(_chosen(p) == str(i) for i, p in enumerate(pairs[:40]))
    assert {p.label for p in pairs[:40]} == {"A", "B"}  # chosen placed by id hash, not always first
    assert load_pairs(tmp_path / "dpo.jsonl") == pairs  # deterministic placement
    for p in pairs[40:]:
        assert (p.question, _chosen(p), p.conversation) == ("Hi", "Hello!", [{"role": "user", "content": "Hi"}])


def test_hh_rlhf_transcripts_gzip(tmp_path: Path) -> None:
    history = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Tell me a joke"
    record = {"chosen": history + "\n\nAssistant: Why did the chicken cross the road?",
              "rejected": history + "\n\nAssistant: No."}
    pairs = load_pairs(_jsonl(tmp_path / "hh.jsonl.gz", [record], gz=True))
    assert pairs.stats.format == "hh_rlhf"
    (pair,) = pairs
    assert pair.conversation == [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello!"},
                                 {"role": "user", "content": "Tell me a joke"}]
    assert _chosen(pair) == "Why did the chicken cross the road?"
    assert {pair.response_a, pair.response_b} == {"Why did the chicken cross the road?", "No."}


def test_detection_and_forced_format(tmp_path: Path) -> None:
    assert detect_format({"input": "q", "output_1": "a", "output_2": "b", "label": 1}) == "llmbar"
    assert detect_format({"prompt": "q", "chosen": ["a", "b"], "rejected": ["c", "d"]}) == "rmbench"
    assert detect_format({"prompt": "q", "chosen": "a", "rejected": "b"}) == "dpo"
    assert detect_format({"foo": 1}) is None
    # a JSON array of LLMBar-shaped rows, read as LLMBar when forced
    path = tmp_path / "mine.json"
    path.write_text(json.dumps([{"input": "q", "output_1": "a", "output_2": "b", "label": 2}]))
    (pair,) = load_pairs(path, format="llmbar")
    assert (pair.label, pair.metadata["subset"]) == ("B", "mine")
    with pytest.raises(ValueError, match="unknown format 'csv'"):
        load_pairs(path, format="csv")


def test_llamafactory_alpaca_preference(tmp_path: Path) -> None:
    records = [{"instruction": f"Say {i}.", "input": "", "chosen": f"{i}", "rejected": f"{i + 1}"} for i in range(40)]
    records.append({"instruction": "Add these", "input": "2 + 2", "chosen": "4", "rejected": "5",
                    "system": "Be exact.", "history": [["Hi", "Hello!"]]})
    pairs = load_pairs(_jsonl(tmp_path / "alpaca.jsonl", records))
    assert pairs.stats.format == "alpaca_dpo" and len(pairs) == 41
    assert all((p.question, _chosen(p), p.conversation) == (f"Say {i}.", str(i), None) for i, p in enumerate(pairs[:40]))
    assert {p.label for p in pairs[:40]} == {"A", "B"}  # chosen placed by id hash, like dpo
    assert load_pairs(tmp_path / "alpaca.jsonl") == pairs  # deterministic placement
    last = pairs[40]
    assert last.conversation == [
        {"role": "system", "content": "Be exact."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Add these\n2 + 2"},
    ]
    assert last.question.endswith("User: Add these\n2 + 2") and _chosen(last) == "4"


def test_llamafactory_sharegpt_preference(tmp_path: Path) -> None:
    record = {
        "system": "You can call tools.",
        "conversations": [
            {"from": "human", "value": "Weather in Oslo?"},
            {"from": "function_call", "value": '{"name": "weather", "arguments": {"city": "Oslo"}}'},
            {"from": "observation", "value": "-3 C, snow"},
        ],
        "chosen": {"from": "gpt", "value": "It is -3 C and snowing in Oslo."},
        "rejected": {"from": "gpt", "value": "It is sunny."},
    }
    pairs = load_pairs(_jsonl(tmp_path / "sharegpt.jsonl", [record, {**record, "system": ""}]))
    assert pairs.stats.format == "sharegpt_dpo"
    assert [m["role"] for m in pairs[0].conversation] == ["system", "user", "assistant", "tool"]
    assert [m["role"] for m in pairs[1].conversation] == ["user", "assistant", "tool"]  # an empty system is left out
    assert all(_chosen(p) == "It is -3 C and snowing in Oslo." for p in pairs)
    assert {pairs[0].response_a, pairs[0].response_b} == {"It is -3 C and snowing in Oslo.", "It is sunny."}
    single = {"conversations": [{"from": "human", "value": "Hi"}], "chosen": {"from": "gpt", "value": "Hello!"},
              "rejected": {"from": "gpt", "value": "Bye."}}
    (pair,) = load_pairs(_jsonl(tmp_path / "one.jsonl", [single]))
    assert (pair.question, pair.conversation, _chosen(pair)) == ("Hi", None, "Hello!")


def test_chosen_and_rejected_message_lists(tmp_path: Path) -> None:
    history = [{"role": "user", "content": "Name a prime."}, {"role": "assistant", "content": "7"},
               {"role": "user", "content": "Another one?"}]
    records = [{"id": f"m{i}", "chosen_messages": history + [{"role": "assistant", "content": "11"}],
                "rejected_messages": history + [{"role": "assistant", "content": "9"}]} for i in range(20)]
    pairs = load_pairs(_jsonl(tmp_path / "msgs.jsonl", records))
    assert pairs.stats.format == "messages_dpo"
    assert all(p.conversation == history and _chosen(p) == "11" and {p.response_a, p.response_b} == {"11", "9"} for p in pairs)
    assert {p.label for p in pairs} == {"A", "B"}
    assert [p.id for p in pairs] == [f"m{i}" for i in range(20)]


def test_new_formats_leave_existing_detection_alone() -> None:
    assert detect_format({"instruction": "q", "input": "", "output": "A"}) == "gram_rr"
    assert detect_format({"instruction": "q", "prompt": "q", "chosen": "a", "rejected": "b"}) == "dpo"
    assert detect_format({"chosen": "\n\nHuman: hi\n\nAssistant: a", "rejected": "\n\nHuman: hi\n\nAssistant: b"}) == "hh_rlhf"
    assert detect_format({"instruction": "q", "chosen": "a", "rejected": "b"}) == "alpaca_dpo"
    assert detect_format({"conversations": [], "chosen": {}, "rejected": {}}) == "sharegpt_dpo"
    assert detect_format({"chosen_messages": [], "rejected_messages": []}) == "messages_dpo"
