"""Course-owned harness for manager-summary: draws the learner's chart and describes it.

It runs in the worker beside ``slide.py``. It calls ``make_chart(inputs)``, draws the figure
off-screen and hands back plain data only: texts with their font sizes, every mark (bar, point,
line) with what decides whether a reader sees it (alpha, size, the axes' limits), the axes'
kinds. It knows nothing about what a good chart looks like; the grader judges in its own
process.
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
    return [float(v) if np.isfinite(v) else float("nan") for v in arr[:MAX_POINTS]]


def _alphas(colors: Any, n: int) -> list[float]:
    """The alpha of each of n marks from an RGBA array (broadcast when it has one row)."""
    import numpy as np

    try:
        arr = np.asarray(colors, dtype=float).reshape(-1, 4)
    except (TypeError, ValueError):
        return [0.0] * n
    if len(arr) == 0:
        return [0.0] * n
    return [float(arr[i % len(arr), 3]) for i in range(n)]


def _broadcast(values: Any, n: int, default: float) -> list[float]:
    got = _floats(values)
    return [got[i % len(got)] if got else default for i in range(n)]


def _bars(container: Any) -> dict[str, Any]:
    """Each bar's rectangle and what makes it visible (the judge decides)."""
    rects = []
    for patch in container.patches[:MAX_POINTS]:
        rects.append({"rect": [float(patch.get_x()), float(patch.get_y()),
                               float(patch.get_width()), float(patch.get_height())],
                      "visible": bool(patch.get_visible()),
                      "face_alpha": float(patch.get_facecolor()[3]),
                      "edge_alpha": float(patch.get_edgecolor()[3]),
                      "linewidth": float(patch.get_linewidth())})
    return {"orientation": str(getattr(container, "orientation", None) or "vertical"),
            "count": len(container.patches), "rects": rects,
            "label": str(container.get_label())}


def _points(coll: Any) -> dict[str, Any]:
    """A scatter's points (data coordinates) with their sizes and alphas."""
    offsets = coll.get_offsets()
    n_all = len(offsets)
    n = min(n_all, MAX_POINTS)
    xy = [_floats(row) for row in list(offsets[:n])]
    return {"count": n_all, "visible": bool(coll.get_visible()),
            "in_data_coords": bool(coll.get_offset_transform() == coll.axes.transData),
            "x": [p[0] if p else float("nan") for p in xy],
            "y": [p[1] if len(p) > 1 else float("nan") for p in xy],
            "sizes": _broadcast(coll.get_sizes(), n, 0.0),
            "face_alpha": _alphas(coll.get_facecolors(), n),
            "edge_alpha": _alphas(coll.get_edgecolors(), n),
            "linewidths": _broadcast(coll.get_linewidths(), n, 0.0)}


def _line(line: Any) -> dict[str, Any]:
    """A line's points and what makes them visible (line style, marker, alpha)."""
    from matplotlib.colors import to_rgba

    def alpha(color: Any) -> float:
        try:
            return float(to_rgba(color, line.get_alpha())[3])
        except (TypeError, ValueError):
            return 0.0

    marker = line.get_marker()
    xy = line.get_xydata()  # converted to numbers: category names become their positions
    return {"x": _floats(xy[:MAX_POINTS, 0]), "y": _floats(xy[:MAX_POINTS, 1]),
            "label": str(line.get_label()), "visible": bool(line.get_visible()),
            "in_data_coords": bool(line.get_transform() == line.axes.transData),
            "linestyle": str(line.get_linestyle()), "linewidth": float(line.get_linewidth()),
            "color_alpha": alpha(line.get_color()),
            "marker": "" if marker in (None, "None", "none", "", " ") else str(marker),
            "markersize": float(line.get_markersize()),
            "marker_alpha": max(alpha(line.get_markerfacecolor()),
                                alpha(line.get_markeredgecolor()))}


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
        "xlim": _floats(ax.get_xlim()),
        "ylim": _floats(ax.get_ylim()),
        "legend": [],
        "bars": [],
        "lines": [],
        "points": [],
        "scatters": 0,
        "areas": 0,
    }
    legend = ax.get_legend()
    if legend is not None:
        info["legend"] = [_text(t) for t in legend.get_texts() if t.get_text().strip()]
    for container in ax.containers[:MAX_SERIES_REPORTED]:
        if isinstance(container, BarContainer):
            info["bars"].append(_bars(container))
    info["bar_series"] = sum(isinstance(c, BarContainer) for c in ax.containers)
    for line in ax.lines[:MAX_SERIES_REPORTED]:
        info["lines"].append(_line(line))
    info["line_series"] = len(ax.lines)
    for coll in ax.collections:
        if isinstance(coll, PathCollection):
            info["scatters"] += 1
            if len(info["points"]) < MAX_SERIES_REPORTED:
                info["points"].append(_points(coll))
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
