"""Generators: the part of a stage that *decides* (a report, a stack, a palette, an entity list).

Two engines implement the same `Generator` protocol and are held to the same pydantic schemas:

* `BuiltinGenerator` — deterministic, offline; dispatches each task to a plain function registered by
  the stage modules with `@builtin_task("name")`.
* `LLMGenerator` — an OpenAI-compatible `POST {base}/chat/completions` through `requests`. The model's
  JSON is validated against the task's schema (plus the stage's semantic `check`), and on failure the
  error is sent back for up to `llm_max_repairs` repairs. 429 is retried honouring Retry-After (bounded),
  5xx/timeouts/connection errors are retried with exponential backoff; when retries run out a
  `TransientEngineError` is raised so the pipeline can retry the stage later. `EngineConfig.llm_response_format`
  chooses how the request asks for JSON: `json_object` (default; the schema is only in the prompt), OpenAI's
  `json_schema` structured outputs, or `json_object_schema` (a schema beside `json_object`, which
  llama-cpp-python's server enforces as a grammar; `make test-llm` runs against it, decision 0045).

`repair(task, context, schema, previous, problems, check)` revises an earlier answer with problems found later
(QA's, for the stored app spec): the LLM engine replays the conversation with `previous` as its reply and the
problems as a repair message, then checks and repairs as `generate` does; the built-in engine runs the task's
`@builtin_repair` function, or returns `previous` unchanged when the task has none.

Code templates (the generated app, Dockerfile, manifests) are never produced by a model: for the
development/qa/deployment stages the LLM only supplies the structured parts (AppSpec, QAReview,
DeployPlan) and the templates stay built-in.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import requests
from pydantic import BaseModel, ValidationError

from .types import (
    BudgetExceeded,
    EngineConfig,
    EngineConfigError,
    GenerationError,
    LLMOutputInvalid,
    TransientEngineError,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Check = Callable[[Any], list[str]]

_BUILTIN_TASKS: dict[str, Callable[[dict], BaseModel]] = {}
_BUILTIN_REPAIRS: dict[str, Callable[[dict, BaseModel, list[str]], BaseModel]] = {}

TASK_INSTRUCTIONS = {
    "validation_report": (
        "Assess a founder's SaaS product idea. Extract the problem, audience and features; score clarity, "
        "specificity and market_signal 0-100 with reasons that quote the idea's own words (or say plainly what "
        "is absent); name similar existing products in similar_products only from the catalogue_matches in the "
        "context (with their source_url); products you know of that are not listed go in "
        "model_suggested_products; if the idea restates one product without a differentiator, name it in "
        "clone_of; verdict 'go', 'needs_work' (with actionable feedback) or 'reject' (with reject_reason)."
    ),
    "tech_stack": (
        "Choose the generated app's components from the stack catalogue in the context, one per layer listed in "
        "'layers_required'. runtime/database/frontend must be components with runnable_here=true. Explain each "
        "choice and the alternatives considered. Honour preferred_stack only where the catalogue allows it, "
        "otherwise record a fallback with the reason."
    ),
    "design_system": (
        "Propose a design system for the app: a colour palette (hex #rrggbb) whose text/background pairs meet "
        "WCAG AA (4.5:1), font stacks, a type scale ratio, spacing and radius."
    ),
    "app_spec": (
        "Plan the app as an AppSpec (version 1) for THIS idea only. name, slug (lower-case, hyphens), purpose, "
        "tagline; 'features' = every key feature of the idea, copied verbatim. roles: the idea's own people "
        "(e.g. coordinator, volunteer, auditor), each with the entities it may read and write and scope "
        "'all' or 'own'; always a role named 'owner' with manage_users true; default_role names one of them. "
        "entities: 1-12 records the idea's words name (snake_case singular name, plural table name, label, "
        "label_plural, display_field = a text field), each with typed fields (text, long_text, integer, "
        "decimal, money, boolean, date, datetime, enum with values, email, phone, url, reference with ref, "
        "file) and 'source' = the idea's words the field comes from; never add fields the idea does not "
        "explain. A reference field is named <target>_id. relations: many_to_one for every reference, "
        "many_to_many through a join entity that references both. capabilities: one per behaviour a feature "
        "asks for, only of the kinds listed as available in 'capability_kinds', each with a unique id and its "
        "parameters bound to the entities, fields and roles by name. pages (home, list, detail, form, "
        "capability) and navigation. trace: exactly one entry per key feature (the feature text verbatim): "
        "status 'planned' with the capability ids that realise it (a table alone is not a feature), or "
        "'not_covered' with a reason a founder can read. Each trace entry has a 'reading': actors, action, "
        "record, attributes, links, rules (category limit/capacity/uniqueness/exclusivity/agreement/time_window/duration/"
        "threshold/fee/escalation/block/recipient/channel, the feature's words verbatim, number, unit, nouns), "
        "effects, and 'words': EVERY word of the feature except articles, prepositions, conjunctions, auxiliaries "
        "and pronouns, each with maps_to (entity:<name>, field:<entity>.<field>, role:<name>, capability:<id>, "
        "rule:<n>, effect:<n>, action:<verb>, page, app) or 'unread' when nothing in the spec realises it — never "
        "drop a word. Statuses are recomputed from the reading: a rule no capability parameter carries makes the "
        "feature partial. If 'feedback' is present it lists QA findings on "
        "the last generation: address them."
    ),
    "custom_operation": (
        "Write one custom operation (a Flask blueprint module and its unittest tests) for a key feature the "
        "capability library does not cover, following the 'instructions' in the context exactly."
    ),
    "qa_review": "Summarise the QA findings for the founder and list the fixes in priority order.",
    "deploy_plan": (
        "Choose Cloud Run settings for the app (service name, cpu, memory, instances, concurrency, non-secret "
        "env vars) and write short release notes."
    ),
}


def builtin_repair(name: str):
    """Register a built-in repair function `fn(context, previous, problems)` for task `name`."""

    def deco(fn):
        _BUILTIN_REPAIRS[name] = fn
        return fn

    return deco


def builtin_task(name: str):
    """Register a built-in generator function for `name` (used by the stage modules)."""

    def deco(fn):
        _BUILTIN_TASKS[name] = fn
        return fn

    return deco


class Generator(Protocol):
    engine: str

    def generate(self, task: str, context: dict, schema: type[M], check: Check | None = None) -> M: ...

    def repair(self, task: str, context: dict, schema: type[M], previous: M, problems: list[str],
               check: Check | None = None) -> M: ...

    def usage(self) -> dict: ...


class BuiltinGenerator:
    engine = "builtin"

    def generate(self, task: str, context: dict, schema: type[M], check: Check | None = None) -> M:
        try:
            fn = _BUILTIN_TASKS[task]
        except KeyError:
            raise GenerationError(f"no built-in generator for task {task!r}") from None
        result = fn(context)
        if not isinstance(result, schema):
            result = schema.model_validate(result)
        problems = check(result) if check else []
        if problems:  # a bug in the built-in engine, not something a retry fixes
            raise GenerationError(f"built-in {task} failed its own checks: {problems}")
        return result

    def repair(self, task: str, context: dict, schema: type[M], previous: M, problems: list[str],
               check: Check | None = None) -> M:
        """The built-in engine's repair: the task's registered repair function (`@builtin_repair`), or, for a
        task without one, `previous` unchanged (a deterministic generator asked again says the same thing)."""
        fn = _BUILTIN_REPAIRS.get(task)
        result = fn(context, previous, problems) if fn else previous
        if not isinstance(result, schema):
            result = schema.model_validate(result)
        found = check(result) if check else []
        if found:
            raise GenerationError(f"built-in {task} repair failed its own checks: {found}")
        return result

    def usage(self) -> dict:
        return {"engine": "builtin", "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0}


def _strip_fences(text: str) -> str:
    m = re.match(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", text, re.DOTALL)
    return m.group(1) if m else text.strip()


def _describe_validation_error(err: ValidationError, limit: int = 8) -> str:
    parts = []
    for e in err.errors()[:limit]:
        loc = ".".join(str(x) for x in e.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {e.get('msg')}")
    more = len(err.errors()) - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


RESPONSE_FORMATS = ("json_object", "json_schema", "json_object_schema")


def response_format(kind: str, task: str, schema: type[BaseModel]) -> dict:
    """The request's `response_format` for `EngineConfig.llm_response_format`."""
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":  # OpenAI structured outputs; not strict (pydantic schemas have optional fields)
        name = re.sub(r"[^A-Za-z0-9_-]", "_", task)[:64] or "answer"
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema.model_json_schema(),
                                                        "strict": False}}
    if kind == "json_object_schema":
        return {"type": "json_object", "schema": schema.model_json_schema()}
    raise EngineConfigError(f"unknown llm_response_format {kind!r} (expected one of {', '.join(RESPONSE_FORMATS)})")


class LLMGenerator:
    engine = "llm"

    def __init__(self, config: EngineConfig, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        if not config.llm_base_url:
            raise EngineConfigError("engine 'llm' selected but EngineConfig.llm_base_url is not set")
        if config.llm_response_format not in RESPONSE_FORMATS:
            raise EngineConfigError(f"unknown llm_response_format {config.llm_response_format!r} "
                                    f"(expected one of {', '.join(RESPONSE_FORMATS)})")
        self.config = config
        self.session = session or requests.Session()
        self.sleep = sleep
        self.tokens_in = 0
        self.tokens_out = 0
        self.calls = 0
        self.repairs = 0
        self.http_retries = 0

    # -- accounting

    def cost_usd(self) -> float:
        c = self.config
        return round(self.tokens_in / 1000 * c.llm_price_per_1k_in + self.tokens_out / 1000 * c.llm_price_per_1k_out, 8)

    def usage(self) -> dict:
        return {
            "engine": "llm",
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd(),
            "llm_calls": self.calls,
            "llm_repairs": self.repairs,
            "llm_http_retries": self.http_retries,
        }

    # -- HTTP

    def _post(self, messages: list[dict], fmt: dict) -> dict:
        c = self.config
        url = c.llm_base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        if c.llm_api_key:
            headers["Authorization"] = f"Bearer {c.llm_api_key}"
        body = {"model": c.llm_model, "messages": messages, "temperature": 0, "response_format": fmt}
        attempts = 1 + max(0, c.llm_max_retries)
        last_problem = "no attempt made"
        for attempt in range(1, attempts + 1):
            wait = min(c.llm_max_backoff_s, c.llm_backoff_s * (2 ** (attempt - 1)))
            try:
                resp = self.session.post(url, json=body, headers=headers, timeout=c.llm_timeout_s)
            except requests.Timeout:
                last_problem = f"timed out after {c.llm_timeout_s}s"
            except requests.ConnectionError as exc:
                last_problem = f"connection error: {type(exc).__name__}"
            else:
                if resp.status_code == 200:
                    try:
                        return resp.json()
                    except ValueError:
                        last_problem = "200 with a non-JSON body"
                elif resp.status_code == 429:
                    last_problem = "429 rate limited"
                    ra = _retry_after_seconds(resp.headers.get("Retry-After"))
                    if ra is not None:
                        wait = min(c.llm_max_backoff_s, ra)
                elif resp.status_code >= 500:
                    last_problem = f"HTTP {resp.status_code}"
                else:
                    raise GenerationError(f"LLM request rejected: HTTP {resp.status_code}")
            if attempt < attempts:
                self.http_retries += 1
                log.warning("llm call retry", extra={"fields": {"attempt": attempt, "problem": last_problem,
                                                                 "wait_s": wait}})
                self.sleep(wait)
        raise TransientEngineError(f"LLM unavailable after {attempts} attempts: {last_problem}")

    def _chat(self, messages: list[dict], fmt: dict) -> str:
        data = self._post(messages, fmt)
        self.calls += 1
        usage = data.get("usage") or {}
        self.tokens_in += int(usage.get("prompt_tokens") or 0)
        self.tokens_out += int(usage.get("completion_tokens") or 0)
        if self.config.llm_max_cost_usd is not None and self.cost_usd() > self.config.llm_max_cost_usd:
            raise BudgetExceeded(
                f"LLM spend ${self.cost_usd():.6f} is over the stage budget ${self.config.llm_max_cost_usd:.6f}"
            )
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            return ""
        return content if isinstance(content, str) else json.dumps(content)

    # -- generation with repairs

    def _opening(self, task: str, context: dict, schema: type[M]) -> list[dict]:
        schema_json = json.dumps(schema.model_json_schema(), sort_keys=True)
        system = (
            "You are a stage of the SaaS Factory, which turns product ideas into working apps. "
            + TASK_INSTRUCTIONS.get(task, f"Perform the task {task!r}.")
            + " Reply with exactly one JSON object and nothing else. It must validate against this JSON Schema: "
            + schema_json
        )
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": json.dumps({"task": task, "context": context}, sort_keys=True, default=str)},
        ]

    def generate(self, task: str, context: dict, schema: type[M], check: Check | None = None) -> M:
        return self._converse(task, self._opening(task, context, schema), schema, check)

    def repair(self, task: str, context: dict, schema: type[M], previous: M, problems: list[str],
               check: Check | None = None) -> M:
        """Repair an earlier answer: the same conversation as `generate`, with `previous` as the model's reply and
        `problems` (found later, e.g. by QA) as the repair message; then the usual check-and-repair rounds."""
        messages = self._opening(task, context, schema) + [
            {"role": "assistant", "content": json.dumps(previous.model_dump(mode="json"), sort_keys=True)},
            {"role": "user", "content": "Your previous reply was built and checked, and these problems were found: "
                                        + "; ".join(problems[:40])
                                        + ". Reply again with only the corrected JSON object; keep what works."},
        ]
        self.repairs += 1
        return self._converse(task, messages, schema, check)

    def _converse(self, task: str, messages: list[dict], schema: type[M], check: Check | None) -> M:
        problem = ""
        fmt = response_format(self.config.llm_response_format, task, schema)
        for round_no in range(self.config.llm_max_repairs + 1):
            if round_no:
                self.repairs += 1
            content = self._chat(messages, fmt)
            try:
                data = json.loads(_strip_fences(content))
            except json.JSONDecodeError as exc:
                problem = f"the reply was not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            else:
                try:
                    obj = schema.model_validate(data)
                except ValidationError as exc:
                    problem = "the JSON did not match the schema: " + _describe_validation_error(exc)
                else:
                    issues = check(obj) if check else []
                    if not issues:
                        return obj
                    problem = "the JSON is well-formed but wrong: " + "; ".join(issues[:8])
            log.info("llm output invalid", extra={"fields": {"task": task, "round": round_no, "problem": problem[:300]}})
            messages = messages + [
                {"role": "assistant", "content": content},
                {"role": "user", "content": f"Your previous reply was invalid: {problem}. "
                                            "Reply again with only the corrected JSON object."},
            ]
        raise LLMOutputInvalid(
            f"{task}: model output still invalid after {self.config.llm_max_repairs} repairs: {problem}"[:500]
        )


def generator_for(stage: str, config: EngineConfig, session: requests.Session | None = None) -> Generator:
    engine = (config.engine_by_stage or {}).get(stage, "builtin")
    if engine == "builtin":
        return BuiltinGenerator()
    if engine == "llm":
        return LLMGenerator(config, session=session)
    raise EngineConfigError(f"unknown engine {engine!r} for stage {stage!r} (expected 'builtin' or 'llm')")
