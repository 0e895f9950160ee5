"""What a family's chat template says, found by rendering it (never by knowing the family's names).

Every answer here comes from rendering small conversations with the processor's own template and
reading the result back, so a checkpoint whose template differs from the one we know still gets
the right answer:

- ``turn_end``: the token that ends an assistant turn (``<|im_end|>``, ``<end_of_turn>``,
  ``<end_of_utterance>`` …). Some templates (GLM-4.1V's) write nothing after the assistant's
  text: the turn then ends where the next role begins (``<|user|>``).
- ``assistant_lead``: text the template puts between the generation prompt and the assistant's
  words when it renders a finished turn (Idefics3/SmolVLM: ``"Assistant:"`` then a space).
- ``thinking``: the hybrid-thinking convention: the template opens ``<think>`` itself, or takes
  ``enable_thinking``, or neither (then thinkvl's ``/nothink`` suffix, learnt in SFT).
- ``content_form``: whether the template wants an assistant message's content as a string or as
  a list of parts (LLaVA-OneVision and Idefics3 fail on strings; GLM-4.1V's prints a list's repr).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from thinkvl.format import NOTHINK, THINK_OPEN

SENTINEL = "qzxsentinelqzx"


def render(processor, messages: list[dict], generation: bool, **kwargs) -> str:
    """Render text-only ``messages`` with the processor's template. The tokenizer renders it: the
    processor's own ``apply_chat_template`` would route unknown keyword arguments to the processor
    (and SmolVLM's adds some of its own), while the text is the same."""
    template = processor.chat_template if isinstance(processor.chat_template, str) else None
    return processor.tokenizer.apply_chat_template(messages, chat_template=template, add_generation_prompt=generation,
                                                   tokenize=False, **kwargs)


def _message(role: str, text: str, form: str = "list") -> dict:
    return {"role": role, "content": text if form == "string" else [{"type": "text", "text": text}]}


def _user(text: str) -> dict:
    return _message("user", text)  # user turns carry images: always a list of parts


def content_form(processor) -> str:
    """``"list"`` or ``"string"``: the form of an assistant message's content under which the
    template prints its text exactly once and nothing else (list first: thinkvl's record
    convention; GLM-4.1V's published template prints a list's Python repr, so it takes a string)."""
    for form in ("list", "string"):
        try:
            text = render(processor, [_user("Hi"), _message("assistant", SENTINEL, form)], generation=False)
        except Exception:  # noqa: BLE001 - a template that cannot take this form
            continue
        if text.count(SENTINEL) == 1 and "'text'" not in text and '"text"' not in text:
            return form
    raise ValueError("the chat template prints an assistant message's text neither as a string nor as a list "
                     "of text parts; it cannot be used")


def _specials(tokenizer) -> set[int]:
    added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    return set(tokenizer.all_special_ids) | {i for i, t in added.items() if getattr(t, "special", True)}


@dataclass(frozen=True)
class TurnEnd:
    """The token ending an assistant turn, and what rendering showed about it."""

    token: str
    token_id: int
    after_turn: str  # the template's text after the assistant's words, in a one-turn render
    by_next_role: bool  # the template writes no terminator: the next role's token ends the turn


def turn_end(processor) -> TurnEnd:
    """Render ``user, assistant(SENTINEL)`` and read the first special token after SENTINEL; when
    the template writes none (text after it is only whitespace), render a second user turn and
    take that role's first special token."""
    tokenizer = processor.tokenizer
    form = content_form(processor)
    specials = _specials(tokenizer)
    one = [_user("Hi"), _message("assistant", SENTINEL, form)]
    for by_next, messages in ((False, one), (True, [*one, _user("Again")])):
        text = render(processor, messages, generation=False)
        after = text[text.index(SENTINEL) + len(SENTINEL):]
        for tok_id in tokenizer(after, add_special_tokens=False)["input_ids"]:
            if tok_id in specials:
                return TurnEnd(tokenizer.convert_ids_to_tokens(tok_id), tok_id,
                               after if not by_next else "", by_next)
            if tokenizer.decode([tok_id]).strip():
                break  # words before any special token: not a terminator
    eos = tokenizer.eos_token
    if eos is None:
        raise ValueError("the chat template writes no token after an assistant turn and the tokenizer "
                         "has no eos token: cannot tell where a turn ends")
    return TurnEnd(eos, tokenizer.eos_token_id, "", False)


def assistant_lead(processor) -> str | None:
    """Text between the generation prompt and the assistant's words in a finished render, or
    None when the generation prompt is not a prefix of it (LLaVA-OneVision writes
    ``assistant\\n`` to generate but ``assistant \\n`` when rendering a finished turn)."""
    user = [_user("Hi")]
    prompt = render(processor, user, generation=True)
    full = render(processor, [*user, _message("assistant", SENTINEL, content_form(processor))], generation=False)
    head = full[:full.index(SENTINEL)]
    return head[len(prompt):] if head.startswith(prompt) else None


@dataclass(frozen=True)
class Thinking:
    """How a family's template switches between thinking and direct answers.

    ``mode``: ``"opens_think"`` (the generation prompt already ends inside ``<think>``: completions
    start mid-block; ``opened`` is the text the template wrote), ``"enable_thinking"`` (the
    template takes ``enable_thinking=False`` for direct answers) or ``"nothink_suffix"`` (the
    template knows neither: thinkvl appends ``/nothink`` to the user turn, learnt in SFT).
    """

    mode: str
    opened: str = ""
    direct_template_kwargs: dict = field(default_factory=dict)
    direct_suffix: str = ""


def template_variables(processor) -> frozenset[str]:
    """Variables the chat template reads (a kwarg it does not read goes to the processor instead)."""
    from transformers.utils.chat_template_utils import _get_template_variables

    return _get_template_variables(processor.chat_template)


def thinking(processor) -> Thinking:
    user = [_user("Hi")]
    prompt = render(processor, user, generation=True)
    tail = prompt.rstrip()
    if tail.endswith(THINK_OPEN):
        return Thinking("opens_think", opened=prompt[len(tail) - len(THINK_OPEN):], direct_suffix=NOTHINK)
    if "enable_thinking" in template_variables(processor):
        off = render(processor, user, generation=True, enable_thinking=False)
        if off != prompt:
            return Thinking("enable_thinking", direct_template_kwargs={"enable_thinking": False})
    return Thinking("nothink_suffix", direct_suffix=NOTHINK)
