"""Converters for user data: a raw record (``Row``) -> ``PreferencePair``.

The project's JSONL, GRAM-RR alpaca-style records, HelpSteer3, DPO-style chosen/rejected,
HH-RLHF transcripts, LLaMA-Factory alpaca / sharegpt preference data and message-list pairs.
These formats reject empty responses; chosen/rejected sources place the chosen response by
``gram_rr.data.placement.place``.
"""

from __future__ import annotations

import re
from typing import Any

from gram_rr.data.fields import Context, Row, record_id
from gram_rr.data.placement import place
from gram_rr.data.records import Message, PreferencePair, render_conversation
from gram_rr.parsing import parse_judgment

# --- the project's own JSONL -------------------------------------------------------------

_PAIR_FIELDS = {"id", "question", "response_a", "response_b", "label", "rationale", "source", "conversation", "metadata"}


def read_pair(row: Row, ctx: Context) -> PreferencePair:
    unknown = sorted(set(row.value) - _PAIR_FIELDS)
    if unknown:
        raise row.error(unknown[0], f"unknown field (expected some of {sorted(_PAIR_FIELDS)})")
    id = row.get("id")
    if not isinstance(id, str) or not id:
        raise row.error("id", f"expected a non-empty string, got {id!r}")
    label = row.get("label", None)
    if label not in ("A", "B", None):
        raise row.error("label", f"unknown label {label!r} (expected 'A', 'B' or null)")
    conversation = row.messages("conversation") if row.get("conversation", None) is not None else None
    source = row.get("source", "")
    if not isinstance(source, str):
        raise row.error("source", f"expected a string, got {type(source).__name__}")
    return PreferencePair(
        id=id,
        question=row.text("question"),
        response_a=row.text("response_a", what="response"),
        response_b=row.text("response_b", what="response"),
        label=label,
        rationale=row.optional_text("rationale"),
        source=source,
        conversation=conversation,
        metadata=row.mapping("metadata"),
    )


# --- GRAM-RR training data (alpaca-style: instruction / input / output) -------------------

_SIDE = r"\[The {edge} of Assistant {who}'s (?:Response|Answer)\]"
_GRAM_PROMPT = re.compile(
    r"\[User Question\]\n(?P<question>.*?)\n*"
    + _SIDE.format(edge="Start", who="A")
    + r"\n(?P<a>.*)\n"
    + _SIDE.format(edge="End", who="A")
    + r"\s*"
    + _SIDE.format(edge="Start", who="B")
    + r"\n(?P<b>.*)\n"
    + _SIDE.format(edge="End", who="B"),
    re.DOTALL,
)


def read_gram_rr(row: Row, ctx: Context) -> PreferencePair:
    """``instruction`` holds the filled judge prompt; ``output`` the ``<think>..<answer>X</answer>`` target
    (or just ``A``/``B``, as in GRAM's fine-tuning set); a non-empty ``input`` is appended to the question."""
    instruction = row.text("instruction")
    match = _GRAM_PROMPT.search(instruction)
    if not match:
        raise row.error(
            "instruction",
            "no '[User Question]' / '[The Start of Assistant A's Response]' ... '[The End of Assistant B's Response]' blocks",
        )
    question, a, b = (match.group(k).strip() for k in ("question", "a", "b"))
    extra = row.optional_text("input")
    if extra and extra.strip():
        question = f"{question}\n\n{extra.strip()}"
    output = row.text("output")
    if output.strip() in ("A", "B"):
        label, rationale = output.strip(), None
    else:
        judgment = parse_judgment(output)
        if judgment.answer is None:
            raise row.error("output", "unknown label: no <answer>A</answer> or <answer>B</answer> block")
        label, rationale = judgment.answer, judgment.rationale or None
    for name, text in (("instruction (Assistant A's response)", a), ("instruction (Assistant B's response)", b)):
        if not text:
            raise row.error(name, "empty response")
    if not question:
        raise row.error("instruction (User Question)", "empty text")
    return PreferencePair(
        id=record_id(row, ctx), question=question, response_a=a, response_b=b,
        label=label, rationale=rationale, source="gram_rr",
    )


# --- HelpSteer3 preference (human feedback as the rationale) ------------------------------

_MENTION = {"1": "Response A", "2": "Response B"}
_MENTION_RE = re.compile(r"@?\b[Rr]esponse\s*([12])\b")


def _as_ab(text: str) -> str:
    return _MENTION_RE.sub(lambda m: _MENTION[m.group(1)], text.strip())


def read_helpsteer3(row: Row, ctx: Context) -> PreferencePair:
    """``overall_preference`` -3..3: negative = response1 (A) better, 0 = tie (None), positive = B.

    The rationale joins the annotators' ``reasoning`` that agrees with the overall
    preference (their ``feedback1``/``feedback2``, where present, become the Feedback
    section), with "@Response 1/2" rewritten to "Response A/B".
    """
    context = row.get("context")
    if isinstance(context, str):
        conversation, question = None, row.text("context")
    else:
        conversation = row.messages("context")
        question = render_conversation(conversation)
    score = row.integer("overall_preference")
    if not -3 <= score <= 3:
        raise row.error("overall_preference", f"unknown label {score} (expected -3..3)")
    label = "A" if score < 0 else "B" if score > 0 else None
    notes = row.get("individual_preference", [])
    if not isinstance(notes, list):
        raise row.error("individual_preference", f"expected a list, got {type(notes).__name__}")
    agreeing = []
    for i, note in enumerate(notes):
        if not isinstance(note, dict) or not isinstance(note.get("reasoning", ""), str):
            raise row.error(f"individual_preference[{i}]", "expected an object with a 'reasoning' string")
        note_score = note.get("score", score)
        if isinstance(note_score, int) and (note_score > 0) - (note_score < 0) == (score > 0) - (score < 0):
            agreeing.append(note)
    rationale = _helpsteer3_rationale(agreeing, label) if label and agreeing else None
    return PreferencePair(
        id=record_id(row, ctx),
        question=question,
        response_a=row.text("response1", what="response"),
        response_b=row.text("response2", what="response"),
        label=label,
        rationale=rationale,
        source="helpsteer3",
        conversation=conversation,
        metadata={
            k: v
            for k, v in {
                "domain": row.get("domain", None),
                "language": row.get("language", None),
                "overall_preference": score,
                "annotator_scores": [n.get("score") for n in notes if isinstance(n, dict)],
            }.items()
            if v is not None
        },
    )


def _helpsteer3_rationale(notes: list[dict[str, Any]], label: str) -> str | None:
    reasons = [_as_ab(n["reasoning"]) for n in notes if n.get("reasoning", "").strip()]
    if not reasons:
        return None
    parts = []
    feedback = [
        f"Response {side}: {_as_ab(n[key])}"
        for n in notes[:1]
        for side, key in (("A", "feedback1"), ("B", "feedback2"))
        if isinstance(n.get(key), str) and n[key].strip()
    ]
    if feedback:
        parts.append("Feedback:\n" + "\n".join(feedback))
    parts.append("Comparision:\n" + "\n".join(reasons))
    parts.append(f"Conclusion:\nResponse {label} is better.")
    return "\n\n".join(parts)


# --- chosen / rejected: DPO-style and HH-RLHF transcripts ---------------------------------

_HH_TURN = re.compile(r"\n\n(Human|Assistant):")
_HH_ROLES = {"Human": "user", "Assistant": "assistant"}
_HH_LAST = "\n\nAssistant:"


def looks_like_hh(value: Any) -> bool:
    return isinstance(value, str) and "\n\nHuman:" in value and _HH_LAST in value


def _hh_turns(row: Row, text: str) -> list[Message]:
    parts = _HH_TURN.split(text)
    if parts[0].strip() or len(parts) < 3:
        raise row.error("chosen", "not an HH-RLHF transcript (expected '\\n\\nHuman: ...\\n\\nAssistant: ...')")
    return [{"role": _HH_ROLES[r], "content": c.strip()} for r, c in zip(parts[1::2], parts[2::2])]


def read_hh_rlhf(row: Row, ctx: Context) -> PreferencePair:
    """Split both transcripts at the last ``Assistant:`` turn they share: the history before it
    becomes the conversation, the rest of each transcript its response (which may be empty:
    the benchmark keeps such turns)."""
    chosen = row.text("chosen", allow_empty=True)
    rejected = row.text("rejected", allow_empty=True)
    shared = _common_prefix(chosen, rejected)
    cut = shared.rfind(_HH_LAST)
    if cut < 0:
        raise row.error("rejected", "chosen and rejected share no conversation before a final 'Assistant:' turn")
    conversation = _hh_turns(row, chosen[:cut])
    start = cut + len(_HH_LAST)
    id = record_id(row, ctx)
    return place(
        id,
        chosen[start:].strip(),
        rejected[start:].strip(),
        question=render_conversation(conversation),
        conversation=conversation,
        source="hh_rlhf",
    )


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return a[:n]


def _response_text(row: Row, field: str, value: Any) -> str:
    """A DPO completion: a string, or assistant messages (their contents joined)."""
    if isinstance(value, str):
        if not value.strip():
            raise row.error(field, "empty response")
        return value
    messages = row.messages(field, value)
    text = "\n\n".join(m["content"] for m in messages)
    if not text.strip():
        raise row.error(field, "empty response")
    return text


def read_dpo(row: Row, ctx: Context) -> PreferencePair:
    """``prompt`` + ``chosen`` + ``rejected`` (strings or chat messages, TRL's explicit or implicit prompt).

    A string ``subset`` (RewardBench files have one) is kept in ``metadata["subset"]``."""
    chosen, rejected = row.get("chosen"), row.get("rejected")
    conversation: list[Message] | None = None
    if row.has("prompt"):
        prompt = row.get("prompt")
        if isinstance(prompt, str):
            question = row.text("prompt")
        else:
            conversation = row.messages("prompt")
            question = render_conversation(conversation)
    elif isinstance(chosen, list) and isinstance(rejected, list):
        chosen_msgs, rejected_msgs = row.messages("chosen"), row.messages("rejected")
        n = 0
        while n < min(len(chosen_msgs), len(rejected_msgs)) - 1 and chosen_msgs[n] == rejected_msgs[n]:
            n += 1
        if n == 0:
            raise row.error("prompt", "missing field (and chosen/rejected share no conversation prefix)")
        conversation = chosen_msgs[:n]
        question = render_conversation(conversation)
        chosen, rejected = chosen_msgs[n:], rejected_msgs[n:]
    else:
        raise row.error("prompt", "missing field")
    subset = row.get("subset", None)
    return place(
        record_id(row, ctx),
        _response_text(row, "chosen", chosen),
        _response_text(row, "rejected", rejected),
        question=question,
        conversation=conversation,
        source="dpo",
        metadata={"subset": subset} if isinstance(subset, str) else {},
    )


# --- LLaMA-Factory preference data (alpaca and sharegpt styles) and message-list pairs ------

_SHAREGPT_ROLES = {
    "human": "user", "gpt": "assistant", "system": "system", "observation": "tool", "function_call": "assistant",
}
_SHAREGPT_ASKS = ("human", "observation")
_SHAREGPT_ANSWERS = ("gpt", "function_call")


def _chosen_rejected(
    row: Row, ctx: Context, conversation: list[Message], chosen: str, rejected: str, source: str
) -> PreferencePair:
    """A chosen/rejected pair placed by id hash; a lone user turn is kept as the question only."""
    single = len(conversation) == 1 and conversation[0]["role"] == "user"
    return place(
        record_id(row, ctx),
        chosen,
        rejected,
        question=render_conversation(conversation),
        conversation=None if single else conversation,
        source=source,
    )


def _system(row: Row) -> list[Message]:
    system = row.optional_text("system")
    return [{"role": "system", "content": system}] if system and system.strip() else []


def read_alpaca_dpo(row: Row, ctx: Context) -> PreferencePair:
    """LLaMA-Factory alpaca ranking data: ``instruction`` and ``input`` (either may be empty; joined by a
    newline, as LLaMA-Factory's converter does), ``chosen``, ``rejected``, optional ``system`` and
    ``history`` (``[[query, response], ...]`` before the instruction)."""
    query = "\n".join(part for part in (row.text("instruction", allow_empty=True), row.optional_text("input")) if part)
    if not query.strip():
        raise row.error("instruction", "empty text (and no input)")
    history = row.get("history", None) or []
    if not isinstance(history, list):
        raise row.error("history", f"expected a list of [query, response] pairs, got {type(history).__name__}")
    conversation = _system(row)
    for i, turn in enumerate(history):
        if not (isinstance(turn, list) and len(turn) == 2 and all(isinstance(t, str) for t in turn)):
            raise row.error(f"history[{i}]", "expected a [query, response] pair of strings")
        conversation += [{"role": "user", "content": turn[0]}, {"role": "assistant", "content": turn[1]}]
    conversation.append({"role": "user", "content": query})
    chosen = row.text("chosen", what="response")
    rejected = row.text("rejected", what="response")
    return _chosen_rejected(row, ctx, conversation, chosen, rejected, "alpaca_dpo")


def _sharegpt_turn(row: Row, field: str, value: Any, allowed: tuple[str, ...]) -> Message:
    if not isinstance(value, dict):
        raise row.error(field, f"expected a {{from, value}} object, got {type(value).__name__}")
    speaker, text = value.get("from"), value.get("value")
    if speaker not in allowed:
        raise row.error(f"{field}.from", f"unknown speaker {speaker!r} (expected one of {list(allowed)})")
    if not isinstance(text, str):
        raise row.error(f"{field}.value", f"expected a string, got {type(text).__name__}")
    return {"role": _SHAREGPT_ROLES[speaker], "content": text}


def read_sharegpt_dpo(row: Row, ctx: Context) -> PreferencePair:
    """LLaMA-Factory sharegpt ranking data: ``conversations`` (``{from, value}`` turns ending with a
    human or observation turn), ``chosen`` / ``rejected`` ``{from: gpt, value}``, optional ``system``."""
    turns = row.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise row.error("conversations", "expected a non-empty list of {from, value} turns")
    conversation = _system(row)
    for i, turn in enumerate(turns):
        conversation.append(_sharegpt_turn(row, f"conversations[{i}]", turn, tuple(_SHAREGPT_ROLES)))
    if turns[-1].get("from") not in _SHAREGPT_ASKS:
        raise row.error(f"conversations[{len(turns) - 1}].from", "the last turn must be 'human' or 'observation'")
    chosen, rejected = (_sharegpt_response(row, side) for side in ("chosen", "rejected"))
    return _chosen_rejected(row, ctx, conversation, chosen, rejected, "sharegpt_dpo")


def _sharegpt_response(row: Row, side: str) -> str:
    text = _sharegpt_turn(row, side, row.get(side), _SHAREGPT_ANSWERS)["content"]
    if not text.strip():
        raise row.error(f"{side}.value", "empty response")
    return text


def read_messages_dpo(row: Row, ctx: Context) -> PreferencePair:
    """``chosen_messages`` / ``rejected_messages``: the same conversation, each ending with its assistant response."""
    sides = {}
    for field in ("chosen_messages", "rejected_messages"):
        messages = row.messages(field)
        last, where = messages[-1], f"{field}[{len(messages) - 1}]"
        if last["role"] != "assistant":
            raise row.error(f"{where}.role", f"the last message must be the assistant's response, got {last['role']!r}")
        if not last["content"].strip():
            raise row.error(f"{where}.content", "empty response")
        if len(messages) < 2:
            raise row.error(field, "no conversation before the assistant's response")
        sides[field] = (messages[:-1], last["content"])
    (conversation, chosen), (other, rejected) = sides["chosen_messages"], sides["rejected_messages"]
    if conversation != other:
        raise row.error("rejected_messages", "the conversation before the last assistant turn differs from chosen_messages")
    return _chosen_rejected(row, ctx, conversation, chosen, rejected, "messages_dpo")
