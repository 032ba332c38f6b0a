"""Figures for reports: matplotlib without a display, with a Chinese font when the system has one."""

from __future__ import annotations

from functools import lru_cache

CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC",
    "Noto Serif CJK SC", "AR PL UMing CN", "Droid Sans Fallback",
)  # fmt: skip
"""Font families that draw Chinese, in order of preference."""


@lru_cache(maxsize=1)
def pyplot():
    """``(matplotlib.pyplot, has_chinese_font)``: the Agg backend, and the first installed family of
    ``CJK_FAMILIES`` (else any family with ``CJK`` in its name) as the sans-serif font (without one, Chinese
    labels cannot be drawn: callers fall back to numbers with a legend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    family = next((name for name in CJK_FAMILIES if name in installed), None)
    if family is None:  # another Chinese font, by its name
        family = next((name for name in sorted(installed) if "CJK" in name), None)
    if family is not None:
        plt.rcParams["font.sans-serif"] = [family, *plt.rcParams["font.sans-serif"]]
        plt.rcParams["axes.unicode_minus"] = False
    return plt, family is not None
