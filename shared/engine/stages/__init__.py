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
    # Server-only documents for the run, by name (`tenants/{t}/pipelines/{p}/private/{name}`): what only some
    # members may see (the owner claim link). The summary, which every member reads, never carries them.
    private: dict[str, dict] = field(default_factory=dict)
