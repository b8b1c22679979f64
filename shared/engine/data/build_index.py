"""Rebuild the catalogue's BM25 index: `python -m shared.engine.data.build_index` (writes catalogue_index.json).

`--check` exits 1 when the committed index does not match catalogue.json (CI and the unit test use it).
"""

from __future__ import annotations

import sys

from shared.engine import catalogues, market


def main(argv: list[str]) -> int:
    text = market.render_index(market.build_index(catalogues.market_catalogue(), market.catalogue_sha256()))
    path = catalogues.DATA_DIR / market.INDEX_FILE
    if "--check" in argv:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is stale: run python -m shared.engine.data.build_index", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
