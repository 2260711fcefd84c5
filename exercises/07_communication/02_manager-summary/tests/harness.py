"""Course-owned harness for manager-summary: draws the learner's chart and describes it.

It runs in the worker beside ``slide.py``. It calls ``make_chart(inputs)``, draws the figure
off-screen and hands back plain data only: texts with their font sizes, the data each series
shows, the axes' kinds. It knows nothing about what a good chart looks like; the grader judges
in its own process.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

MAX_SERIES_REPORTED = 50
MAX_POINTS = 500


def ready() -> list[str]:
    """The submission's files that arrived (names only); starting the worker is the point."""
    return sorted(os.listdir("."))


def _text(artist: Any) -> dict[str, Any]:
    return {"text": str(artist.get_text()), "size": float(artist.get_fontsize()),
            "visible": bool(artist.get_visible())}


def _floats(values: Any) -> list[float]:
    import numpy as np

    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return []
    return [float(v) for v in arr[:MAX_POINTS] if np.isfinite(v)]


def _axes(ax: Any) -> dict[str, Any]:
    from matplotlib.collections import PathCollection, PolyCollection
    from matplotlib.container import BarContainer

    info: dict[str, Any] = {
        "name": str(ax.name),
        "title": [_text(t) for t in (ax.title, getattr(ax, "_left_title", None),
                                     getattr(ax, "_right_title", None))
                  if t is not None and t.get_text().strip()],
        "xlabel": _text(ax.xaxis.label),
        "ylabel": _text(ax.yaxis.label),
        "xticklabels": [_text(t) for t in ax.get_xticklabels() if t.get_text().strip()],
        "yticklabels": [_text(t) for t in ax.get_yticklabels() if t.get_text().strip()],
        "texts": [_text(t) for t in ax.texts if t.get_text().strip()],
        "legend": [],
        "bars": [],
        "lines": [],
        "scatters": 0,
        "areas": 0,
    }
    legend = ax.get_legend()
    if legend is not None:
        info["legend"] = [_text(t) for t in legend.get_texts() if t.get_text().strip()]
    in_bars = set()
    for container in ax.containers:
        if isinstance(container, BarContainer):
            rects = []
            for patch in container.patches[:MAX_POINTS]:
                in_bars.add(id(patch))
                rects.append([float(patch.get_x()), float(patch.get_y()),
                              float(patch.get_width()), float(patch.get_height())])
            info["bars"].append({"orientation": str(getattr(container, "orientation", None)
                                                    or "vertical"),
                                 "rects": rects, "label": str(container.get_label())})
    for line in ax.lines[:MAX_SERIES_REPORTED]:
        info["lines"].append({"x": _floats(line.get_xdata()), "y": _floats(line.get_ydata()),
                              "label": str(line.get_label())})
    for coll in ax.collections:
        if isinstance(coll, PathCollection):
            info["scatters"] += 1
        elif isinstance(coll, PolyCollection):
            info["areas"] += 1
    return info


def describe_chart(inputs: dict[str, Any]) -> dict[str, Any]:
    """What ``slide.make_chart(inputs)`` drew, as plain data."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = importlib.import_module("slide").make_chart(inputs)
    if not isinstance(fig, Figure):
        return {"type": type(fig).__name__}
    fig.draw_without_rendering()  # resolves tick labels and layout, as a viewer would see them
    suptitle = getattr(fig, "_suptitle", None)
    described = {
        "type": "Figure",
        "suptitle": [_text(suptitle)] if suptitle is not None and suptitle.get_text().strip()
        else [],
        "fig_texts": [_text(t) for t in fig.texts if t.get_text().strip()],
        "size_inches": [float(v) for v in fig.get_size_inches()],
        "axes": [_axes(ax) for ax in fig.axes if ax.get_visible()],
    }
    import matplotlib.pyplot as plt

    plt.close(fig)
    return described
