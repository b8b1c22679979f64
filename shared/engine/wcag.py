"""WCAG 2.x contrast: relative luminance, contrast ratio, and nudging a colour until a pair passes.

Formulae from WCAG 2.2, "relative luminance" and "contrast ratio" definitions
(https://www.w3.org/TR/WCAG22/#dfn-relative-luminance): sRGB channels are linearised with the
0.04045 threshold, L = 0.2126 R + 0.7152 G + 0.0722 B, ratio = (L1 + 0.05) / (L2 + 0.05).
"""

from __future__ import annotations

import colorsys

AA_NORMAL = 4.5
AA_LARGE = 3.0  # large text (>= 24px, or >= 18.66px bold) and UI component boundaries


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    c = color.strip().lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    if len(c) != 6:
        raise ValueError(f"not a #rrggbb colour: {color!r}")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def rgb_to_hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(v))):02x}" for v in rgb)


def _linear(channel: int) -> float:
    s = channel / 255.0
    return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    r, g, b = hex_to_rgb(color)
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(fg: str, bg: str) -> float:
    l1, l2 = relative_luminance(fg), relative_luminance(bg)
    hi, lo = max(l1, l2), min(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


def _with_lightness(color: str, lightness: float) -> str:
    r, g, b = (v / 255.0 for v in hex_to_rgb(color))
    h, _l, s = colorsys.rgb_to_hls(r, g, b)
    nr, ng, nb = colorsys.hls_to_rgb(h, max(0.0, min(1.0, lightness)), s)
    return rgb_to_hex((nr * 255, ng * 255, nb * 255))


def adjust_for_contrast(fg: str, bg: str, minimum: float = AA_NORMAL) -> tuple[str, int]:
    """Move `fg`'s HLS lightness away from `bg` in 2% steps until the pair reaches `minimum`.

    Returns (new_fg, steps). Keeps hue and saturation; ends at black or white at worst, which always
    reaches 4.5:1 against one of them for any background.
    """
    fg = fg.lower()
    if contrast_ratio(fg, bg) >= minimum:
        return fg, 0
    darker = relative_luminance(bg) > 0.18  # light background -> darken the foreground
    r, g, b = (v / 255.0 for v in hex_to_rgb(fg))
    _h, lightness, _s = colorsys.rgb_to_hls(r, g, b)
    steps = 0
    candidate = fg
    while steps < 60:
        steps += 1
        lightness = lightness - 0.02 if darker else lightness + 0.02
        candidate = _with_lightness(fg, lightness)
        if contrast_ratio(candidate, bg) >= minimum:
            return candidate, steps
        if lightness <= 0 or lightness >= 1:
            break
    # Fall back to whichever of black/white passes (one always does at 4.5:1).
    best = max(("#000000", "#ffffff"), key=lambda c: contrast_ratio(c, bg))
    return best, steps
