"""One module per stage. Each exposes `run(inp, config, gen) -> StageOutput` and registers its built-in
generator tasks with `@builtin_task`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StageOutput:
    outcome: str
    summary: dict
    artifacts: dict[str, bytes]
    reason: str | None = None
    extra_usage: dict = field(default_factory=dict)
