"""OpenAI-compatible backend: any chat-completions server (vLLM/SGLang serve, hosted APIs).

Requests run concurrently (bounded), with retries and exponential backoff on transport errors,
429 and 5xx. Force-answering uses the vLLM/SGLang ``continue_final_message`` extension: the
partial reply plus ``</think><answer>`` is sent back as the assistant turn to be continued.
A request that still fails is returned with ``error`` set and is not stored, so the next run
retries it. Images and frames are shrunk to the vision caps before they are sent
(``caps.cap_media``): the server's own processor settings are not ours to trust. Videos go as
frame lists sampled at 2 fps: start a vLLM server with
``--media-io-kwargs '{"video": {"fps": 2.0}}'`` so its timestamps are the trainer's (it assumes
1 fps otherwise, and refuses per-request media settings by default).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from typing import Any

import httpx

from thinkvl.eval.backends import Output, Request, join_reasoning, needs_answer, to_openai_messages
from thinkvl.eval.config import GenerationSettings, OpenAISettings, VisionSettings

log = logging.getLogger("thinkvl.eval")
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
GLM_PLACEHOLDERS = ("<|image|>", "<|video|>", "<|begin_of_image|>", "<|end_of_image|>",
                    "<|begin_of_video|>", "<|end_of_video|>")


class ServerError(RuntimeError):
    """A request the server rejected for good (4xx other than rate limits)."""


class OpenAIBackend:
    name = "openai"

    def __init__(self, base_url: str, settings: OpenAISettings | None = None,
                 model_id: str | None = None, vision: VisionSettings | None = None,
                 processor=None) -> None:
        """``vision``: caps applied to the pixels before sending (counted in ``processor``'s
        patching; None: GLM-4.1V's), since the server's own processor settings are unknown."""
        self.settings = settings or OpenAISettings()
        self.vision = vision or VisionSettings()
        self.processor = processor
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.batch_size = self.settings.concurrency * 4
        self._model = self.settings.model
        self._model_id = model_id
        env = self.settings.api_key_env
        key = os.environ.get(env, "") if env else ""
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}

    # -- identity ---------------------------------------------------------------------------------

    def served_model(self) -> str:
        """The served model name: from settings, else the server's first listed model."""
        if self._model is None:
            r = httpx.get(f"{self.base_url}/models", headers=self._headers,
                          timeout=self.settings.timeout_s)
            r.raise_for_status()
            models = r.json().get("data") or []
            if not models:
                raise ServerError(f"{self.base_url}/models lists no model; "
                                  "set backend.openai.model")
            self._model = str(models[0]["id"])
        return self._model

    def model_fingerprint(self) -> str:
        return self._model_id or f"openai:{self.base_url}:{self.served_model()}"

    def info(self) -> dict[str, Any]:
        return {"backend": "openai", "decoder": f"openai-compatible server at {self.base_url}",
                "model": self.served_model(), "concurrency": self.settings.concurrency,
                "server_extensions": self.settings.server_extensions}

    # -- generation -------------------------------------------------------------------------------

    def generate(self, requests: list[Request], gen: GenerationSettings, mode: str) -> list[Output]:
        from thinkvl.eval.backends.caps import cap_media

        capped = [Request(r.prompt, cap_media(r.media, self.processor, self.vision)) for r in requests]
        messages = [to_openai_messages(r, self.settings.video_frame_format) for r in capped]
        return asyncio.run(self._run(messages, gen))

    async def _run(self, messages: list[list[dict]], gen: GenerationSettings) -> list[Output]:
        sem = asyncio.Semaphore(self.settings.concurrency)
        model = self.served_model()
        client_args = {"timeout": self.settings.timeout_s, "headers": self._headers}
        async with httpx.AsyncClient(**client_args) as client:
            async def one(msgs: list[dict]) -> Output:
                async with sem:
                    try:
                        return await self._complete(client, model, msgs, gen)
                    except (ServerError, httpx.HTTPError, KeyError, ValueError) as exc:
                        log.warning("generation failed: %s", exc)
                        return Output(text="", error=str(exc) or type(exc).__name__)

            return list(await asyncio.gather(*(one(m) for m in messages)))

    def _body(self, model: str, msgs: list[dict], max_tokens: int, gen: GenerationSettings) -> dict:
        body: dict[str, Any] = {"model": model, "messages": msgs, "max_tokens": max_tokens,
                                "temperature": gen.temperature, "top_p": gen.top_p,
                                "seed": gen.seed, "n": 1}
        if self.settings.server_extensions:
            body["skip_special_tokens"] = False  # keep <think>/<answer>/box markers
            bad = self.settings.bad_words
            body["bad_words"] = list(GLM_PLACEHOLDERS if bad is None else bad)
        return body

    async def _complete(self, client: httpx.AsyncClient, model: str, msgs: list[dict],
                        gen: GenerationSettings) -> Output:
        first = await self._post(client, self._body(model, msgs, gen.think_budget, gen))
        text, finish, tokens = first
        finished = finish != "length"
        if finished:
            return Output(text=text, tokens=tokens)
        text, forced = needs_answer(text, finished)
        if gen.answer_budget <= 0 or not self.settings.server_extensions:
            return Output(text=text, forced=forced, truncated=True, tokens=tokens)
        body = self._body(model, msgs + [{"role": "assistant", "content": text}],
                          gen.answer_budget, gen)
        body.update(continue_final_message=True, add_generation_prompt=False)
        more, finish, extra = await self._post(client, body)
        return Output(text=text + more, forced=forced, truncated=finish == "length",
                      tokens=(tokens or 0) + (extra or 0) if tokens is not None else None)

    async def _post(self, client: httpx.AsyncClient, body: dict) -> tuple[str, str, int | None]:
        """One chat completion with retries: (text, finish_reason, completion tokens)."""
        url = f"{self.base_url}/chat/completions"
        for attempt in range(self.settings.max_retries + 1):
            last = attempt == self.settings.max_retries
            try:
                r = await client.post(url, json=body)
            except httpx.TransportError as exc:
                if last:
                    raise
                log.info("retrying after %s", exc)
            else:
                if r.status_code == 200:
                    data = r.json()
                    choice = data["choices"][0]
                    usage = data.get("usage") or {}
                    finish = choice.get("finish_reason") or "stop"
                    return join_reasoning(choice["message"]), finish, usage.get("completion_tokens")
                if r.status_code not in _RETRY_STATUS or last:
                    raise ServerError(f"{url} answered {r.status_code}: {r.text[:500]}")
            await asyncio.sleep(self.settings.backoff_s * 2 ** attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def close(self) -> None:
        pass
