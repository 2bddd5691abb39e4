"""Token ids for prompts and scored continuations, identical for every engine.

Both engines tokenize here, so a prompt means the same token ids in vLLM and in
transformers (and ``score`` in one engine is comparable with the other).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from gram_rr.engines.base import Conversation


def prompt_ids(tokenizer: Any, conversation: Conversation) -> list[int]:
    """The chat-templated prompt (with the assistant turn opened) as token ids.

    Message contents are text, never control tokens: a question or a candidate response that
    contains ``<|im_end|>``, ``<|eot_id|>`` or any other special token of the tokenizer is
    tokenized as the characters it is, so it cannot close its turn and forge another (a
    fake assistant turn with its own verdict). Contents without such strings tokenize exactly
    as the whole templated text does.
    """
    return _templated_ids(tokenizer, conversation, True, _writes_special_tokens(tokenizer, conversation))


def completion_ids(tokenizer: Any, prompt: Conversation, completion: Conversation) -> tuple[list[int], int]:
    """``(ids, n_prompt)``: the chat-templated ``prompt + completion`` and how many leading ids are the prompt.

    Contents stay text as in :func:`prompt_ids` (the completion's end of turn is the template's),
    and without special-token strings the ids are the whole templated text's, as TRL's SFTTrainer
    tokenizes conversational prompt/completion data. ``n_prompt`` is where the ids part from
    those of the prompt with the assistant turn opened, as TRL cuts the completion.
    """
    literal = _writes_special_tokens(tokenizer, prompt + completion)
    ids = _templated_ids(tokenizer, prompt + completion, False, literal)
    opened = _templated_ids(tokenizer, prompt, True, literal)
    n_prompt = next((i for i, (a, b) in enumerate(zip(opened, ids)) if a != b), min(len(opened), len(ids)))
    return ids, n_prompt


def conversation_ids(tokenizer: Any, conversation: Conversation) -> list[int]:
    """The whole chat-templated ``conversation`` (no turn opened after it) as token ids, contents kept
    as text as in :func:`prompt_ids` (a scalar reward model reads a question and its response so)."""
    return _templated_ids(tokenizer, conversation, False, _writes_special_tokens(tokenizer, conversation))


def _writes_special_tokens(tokenizer: Any, conversation: Conversation) -> bool:
    """Whether some message content contains a special token's text."""
    specials = special_strings(tokenizer)
    return any(token in message["content"] for message in conversation for token in specials)


def _templated_ids(tokenizer: Any, conversation: Conversation, add_generation_prompt: bool, literal: bool) -> list[int]:
    """The templated ``conversation``'s ids: the whole text tokenized, or with contents kept literal."""
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(
            "the tokenizer has no chat template; engines take chat messages, so use an instruct/chat "
            "checkpoint or set tokenizer.chat_template"
        )
    text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=add_generation_prompt)
    if not literal:
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    return _ids_with_literal_contents(tokenizer, conversation, text, add_generation_prompt)


@lru_cache(maxsize=8)
def special_strings(tokenizer: Any) -> tuple[str, ...]:
    """Every special token's text (control tokens such as ``<|im_start|>``), longest first; once per tokenizer."""
    added = [token.content for token in tokenizer.added_tokens_decoder.values() if token.special]
    return tuple(sorted(set(added) | set(tokenizer.all_special_tokens), key=len, reverse=True))


def _ids_with_literal_contents(
    tokenizer: Any, conversation: Conversation, text: str, add_generation_prompt: bool
) -> list[int]:
    """Tokenize the template's own text with its control tokens and every content as plain text.

    The template is rendered once more with a marker in place of each content, which cuts it
    into its own pieces; walking the real rendering, each piece must come next, followed by the
    content as written (or trimmed, as some templates do), so a content that repeats template
    text cannot shift the cut.
    """
    markers = [f"\ue000{i}\ue001" for i in range(len(conversation))]
    skeleton = tokenizer.apply_chat_template(
        [{**message, "content": marker} for message, marker in zip(conversation, markers)],
        tokenize=False, add_generation_prompt=add_generation_prompt,
    )
    pieces, rest = [], skeleton
    for marker in markers:
        before, found, rest = rest.partition(marker)
        if not found:
            raise ValueError("the chat template drops or repeats a message; its contents cannot be kept literal")
        pieces.append(before)
    ids: list[int] = []
    position = 0
    for piece, message in zip(pieces, conversation):
        if not text.startswith(piece, position):
            raise ValueError("the chat template renders messages in a way gram-rr cannot follow")
        ids += tokenizer(piece, add_special_tokens=False)["input_ids"]
        position += len(piece)
        content = next((c for c in (message["content"], message["content"].strip()) if text.startswith(c, position)), None)
        if content is None:
            raise ValueError("the chat template rewrites message contents; they cannot be kept literal")
        ids += tokenizer(content, add_special_tokens=False, split_special_tokens=True)["input_ids"]
        position += len(content)
    if text[position:] != rest:
        raise ValueError("the chat template renders messages in a way gram-rr cannot follow")
    return ids + tokenizer(rest, add_special_tokens=False)["input_ids"]


def start_id(tokenizer: Any) -> int:
    """The token a continuation is scored after when there is no prompt: BOS, else EOS."""
    for token_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return token_id
    raise ValueError("the tokenizer has neither a BOS nor an EOS token to score an unconditioned continuation after")


def scoring_ids(tokenizer: Any, conversation: Conversation | None, continuation: str) -> tuple[list[int], int]:
    """``(ids, n_context)``: context ids followed by the continuation's ids.

    The context is the chat-templated prompt, or the single start token when
    ``conversation`` is None. The continuation is tokenized on its own, as the
    assistant's text right after the opened turn.
    """
    context = [start_id(tokenizer)] if conversation is None else prompt_ids(tokenizer, conversation)
    cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    return context + cont, len(context)
