"""How completions are decoded: one settings type for RL rollouts, evaluation, offline grading
and the annotation app's drafts.

GLM-4.1V's recipe: think for up to ``think_budget`` tokens; a thought still open then gets
``</think><answer>`` appended and ``answer_budget`` more tokens, so a long think still ends in a
gradable answer. ``temperature: 0`` is greedy decoding; the report samples with temperature 1.0
and **top-p 1.0** (top-p < 1 garbled outputs over long RL runs). The defaults are the evaluation
protocol's (greedy, 8,192 + 1,024 tokens); RL's rollout section (``rl.config.RolloutConfig``) is
this type with RL's defaults. Whether the prompt asks for thinking at all (think vs direct mode)
is a property of the prompt, not of decoding, and is passed beside these settings.
"""

from __future__ import annotations

from pydantic import Field

from thinkvl.config import Section


class GenerationSettings(Section):
    think_budget: int = Field(8192, ge=0, description="new tokens before </think><answer> is forced")
    answer_budget: int = Field(1024, ge=0, description="new tokens allowed after the forced </think><answer>")
    temperature: float = Field(0.0, ge=0, description="0: greedy decoding")
    top_p: float = Field(1.0, gt=0, le=1.0, description="1.0: the whole distribution (the report's choice)")
    top_k: int = Field(0, ge=0, description="0: no top-k cut (a model's generation config may not sneak one in)")
    seed: int = Field(0, description="sampling seed where a backend seeds per call (evaluation)")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def hf_kwargs(self, max_new: int, pad_id: int) -> dict:
        """Keyword arguments for Hugging Face ``generate`` (and its logits processors)."""
        kwargs = {"max_new_tokens": max_new, "pad_token_id": pad_id}
        if self.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None)
        else:
            kwargs.update(do_sample=True, temperature=self.temperature, top_p=self.top_p, top_k=self.top_k)
        return kwargs
