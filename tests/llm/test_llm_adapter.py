"""The LLM engine's OpenAI-compatible adapter (`LLMGenerator`) against a real model server: llama-cpp-python
serving SmolLM2-135M-Instruct (conftest.py). What a fake server cannot show: that the requests the adapter sends
are ones a real server accepts and answers, that its schema reaches the server as a grammar, that the repair
message moves a real model, that the usage it sums is the server's, and that its timeout fires on a real
generation."""

from __future__ import annotations

import time
from typing import Literal

import pytest
import requests
from pydantic import BaseModel, Field

from shared.engine import EngineConfig, GenerationError, TransientEngineError
from shared.engine.generators import LLMGenerator
from shared.engine.types import BudgetExceeded

CATEGORIES = ("billing", "crm", "analytics")


class ProductCard(BaseModel):
    """A small task schema: what a 135M model can fill in, under a grammar."""

    name: str = Field(min_length=1, max_length=40)
    category: Literal["billing", "crm", "analytics"]
    has_free_tier: bool


class Essay(BaseModel):
    """A schema whose grammar forces a long answer: hundreds of tokens, seconds of generation."""

    text: str = Field(min_length=2000)


IDEA = {"title": "InvoiceFlow", "description": "Small agencies send invoices, chase late payers and see who owes what."}


class RecordingSession(requests.Session):
    """A real requests session that keeps each chat-completions request body and the JSON the server answered."""

    def __init__(self):
        super().__init__()
        self.sent: list[dict] = []
        self.answers: list[dict] = []

    def post(self, url, *args, **kwargs):
        self.sent.append(kwargs.get("json"))
        resp = super().post(url, *args, **kwargs)
        if resp.status_code == 200:
            self.answers.append(resp.json())
        return resp


def _config(server, **kw) -> EngineConfig:
    base = {"llm_base_url": server.base_url, "llm_api_key": server.api_key, "llm_model": server.model,
            "llm_timeout_s": 120.0, "llm_max_repairs": 2, "llm_response_format": "json_object_schema",
            "llm_price_per_1k_in": 0.5, "llm_price_per_1k_out": 1.5, "llm_backoff_s": 0.05}
    base.update(kw)
    return EngineConfig(**base)


def test_schema_constrained_output_is_a_valid_instance(llm_server):
    session = RecordingSession()
    gen = LLMGenerator(_config(llm_server), session=session)
    card = gen.generate("product_card", {"idea": IDEA}, ProductCard)
    assert isinstance(card, ProductCard)
    assert card.category in CATEGORIES and 1 <= len(card.name) <= 40
    # The grammar holds the model to the schema: the first answer validated, no repair was needed.
    assert (gen.calls, gen.repairs, gen.http_retries) == (1, 0, 0)
    assert session.sent[0]["response_format"] == {"type": "json_object", "schema": ProductCard.model_json_schema()}
    assert session.answers[0]["model"] == llm_server.model


def test_a_rejected_answer_is_repaired_by_the_model(llm_server):
    demanded: list[bool] = []

    def check(card: ProductCard) -> list[str]:
        # Reject the first answer whatever it is: demand the other has_free_tier. (SmolLM2-135M follows a demand
        # to flip a boolean; asked to change an enum value or a name, it repeats its first answer.)
        if not demanded:
            demanded.append(not card.has_free_tier)
        if card.has_free_tier != demanded[0]:
            return [f"has_free_tier must be {str(demanded[0]).lower()}"]
        return []

    session = RecordingSession()
    gen = LLMGenerator(_config(llm_server, llm_max_repairs=3), session=session)
    card = gen.generate("product_card", {"idea": IDEA}, ProductCard, check=check)
    assert card.has_free_tier is demanded[0]
    assert gen.repairs >= 1 and gen.calls == gen.repairs + 1 == len(session.sent)
    repair = session.sent[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": session.answers[0]["choices"][0]["message"]["content"]}
    assert repair[-1]["role"] == "user" and f"has_free_tier must be {str(demanded[0]).lower()}" in repair[-1]["content"]
    assert gen.usage()["llm_repairs"] == gen.repairs


def test_tokens_are_the_servers_usage_summed_and_costed_at_the_configured_prices(llm_server):
    session = RecordingSession()
    gen = LLMGenerator(_config(llm_server, llm_price_per_1k_in=0.5, llm_price_per_1k_out=1.5), session=session)
    gen.generate("product_card", {"idea": IDEA}, ProductCard)
    gen.generate("product_card", {"idea": dict(IDEA, title="ChurnRadar")}, ProductCard)
    usages = [a["usage"] for a in session.answers]
    assert len(usages) == gen.calls >= 2
    prompt = sum(u["prompt_tokens"] for u in usages)
    completion = sum(u["completion_tokens"] for u in usages)
    # The system message alone (instructions + JSON Schema) is well over 100 tokens; an answer is at least a few.
    assert all(u["prompt_tokens"] > 100 and u["completion_tokens"] > 5 for u in usages), usages
    u = gen.usage()
    assert (u["tokens_in"], u["tokens_out"], u["llm_calls"]) == (prompt, completion, gen.calls)
    assert u["cost_usd"] == pytest.approx(prompt / 1000 * 0.5 + completion / 1000 * 1.5)


def test_the_budget_stops_spending_on_a_real_answer(llm_server):
    gen = LLMGenerator(_config(llm_server, llm_price_per_1k_in=1000.0, llm_max_cost_usd=0.01))
    with pytest.raises(BudgetExceeded, match="over the stage budget"):
        gen.generate("product_card", {"idea": IDEA}, ProductCard)
    assert gen.calls == 1 and gen.tokens_in > 0


def test_a_wrong_api_key_is_rejected_without_retries(llm_server):
    gen = LLMGenerator(_config(llm_server, llm_api_key="not-the-key"))
    with pytest.raises(GenerationError, match="HTTP 401"):
        gen.generate("product_card", {"idea": IDEA}, ProductCard)
    assert gen.http_retries == 0 and gen.calls == 0


def test_a_long_generation_times_out_is_retried_then_raises(own_llm_server):
    # The grammar forces at least 2000 characters (hundreds of tokens, seconds on this CPU), far longer than the
    # 1 s the adapter waits for a response. The retry queues behind the first generation and times out too.
    gen = LLMGenerator(_config(own_llm_server, llm_timeout_s=1.0, llm_max_retries=1, llm_backoff_s=0.1))
    started = time.monotonic()
    with pytest.raises(TransientEngineError, match=r"after 2 attempts: timed out after 1\.0s"):
        gen.generate("essay", {"topic": "why small agencies get paid late"}, Essay)
    elapsed = time.monotonic() - started
    assert gen.http_retries == 1 and gen.calls == 0 and gen.tokens_in == 0
    assert 2.0 <= elapsed < 10, elapsed
