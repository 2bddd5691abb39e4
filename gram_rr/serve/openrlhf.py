"""OpenRLHF's remote reward queries cut into the judge's question and the policy's response.

OpenRLHF (0.11, ``SingleTurnAgentExecutor``) posts one rollout per request:
``{"query": [prompt + response as the policy's tokenizer decoded it, special tokens included],
"prompts": [the prompt as the dataset wrote it, chat template applied], "labels": [label]}``.

How the response is cut out of ``query``, per chat template (found from the prompt):

- **ChatML** (SmolLM2, Qwen): turns are ``<|im_start|>{role}\\n{content}<|im_end|>``; the
  prompt ends with the assistant header ``<|im_start|>assistant\\n``.
- **Llama 3**: turns are ``<|start_header_id|>{role}<|end_header_id|>\\n\\n{content}<|eot_id|>``;
  the prompt ends with ``<|start_header_id|>assistant<|end_header_id|>\\n\\n``.

If the prompt holds ``k`` assistant headers, the response starts right after the ``k``-th one
in ``query`` (so small decoding differences inside the prompt, or header text inside the
response, cannot move the cut) and ends at the first end-of-turn or end-of-text token after
it (the policy stopped there; anything after is padding), else at the end of ``query``.
The question is the prompt's turns before that header, system turns dropped: one user turn
is its text, several turns are the conversation. A prompt without a template's assistant
header is plain text: ``query`` must start with it, and the response is the rest.
Anything else (a query without the prompt's headers or prefix, a templated prompt without
turns) cannot be cut, and the request is refused with a 400 naming the entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gram_rr.pair_prompt import Question
from gram_rr.serve.errors import RequestError


@dataclass(frozen=True)
class ChatTemplate:
    """The strings that delimit one chat template's turns."""

    name: str
    assistant_header: str
    turn: re.Pattern[str]  # groups: role, content
    ends: tuple[str, ...]  # end-of-turn and end-of-text tokens


TEMPLATES = (
    ChatTemplate(
        "chatml",
        "<|im_start|>assistant\n",
        re.compile(r"<\|im_start\|>(\w+)\n(.*?)<\|im_end\|>", re.DOTALL),
        ("<|im_end|>", "<|endoftext|>"),
    ),
    ChatTemplate(
        "llama3",
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        re.compile(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.DOTALL),
        ("<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"),
    ),
)


def template_of(prompt: str) -> ChatTemplate | None:
    """The template whose assistant header the prompt holds (the last one wins a tie of both)."""
    found = [(prompt.rfind(t.assistant_header), t) for t in TEMPLATES if t.assistant_header in prompt]
    return max(found, key=lambda item: item[0])[1] if found else None


def split_query(query: str, prompt: str, index: int = 0) -> tuple[Question, str]:
    """``(question, response)`` of rollout ``index`` of a request (errors name ``query[index]`` or ``prompts[index]``)."""
    field = f"query[{index}]"
    template = template_of(prompt)
    if template is None:
        if not query.startswith(prompt):
            raise RequestError(
                field, "the prompt has no ChatML or Llama 3 assistant header and the query does not start with it, "
                "so the response cannot be cut out",
            )
        return prompt, query[len(prompt):]
    headers = prompt.count(template.assistant_header)
    start = _after_nth(query, template.assistant_header, headers)
    if start is None:
        raise RequestError(
            field, f"the prompt holds {headers} {template.name} assistant header(s) but the query holds fewer, "
            "so the response cannot be cut out",
        )
    stops = [i for i in (query.find(end, start) for end in template.ends) if i >= 0]
    response = query[start : min(stops)] if stops else query[start:]
    return _question(prompt[: prompt.rfind(template.assistant_header)], template, f"prompts[{index}]"), response


def _after_nth(text: str, marker: str, n: int) -> int | None:
    position = -len(marker)
    for _ in range(n):
        position = text.find(marker, position + len(marker))
        if position < 0:
            return None
    return position + len(marker)


def _question(history: str, template: ChatTemplate, field: str) -> Question:
    turns = [{"role": role, "content": content} for role, content in template.turn.findall(history) if role != "system"]
    if not turns:
        raise RequestError(field, f"the {template.name} prompt has no user turn before its assistant header")
    if len(turns) == 1 and turns[0]["role"] == "user":
        return turns[0]["content"]
    return turns
