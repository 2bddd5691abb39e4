"""Write a report as JSON, a Markdown table and PNG charts (atomic writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gram_rr.atomic import atomic_save, write_json, write_text
from gram_rr.eval.calibration import plot_reliability


def format_value(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def markdown(result: dict[str, Any]) -> str:
    """A Markdown summary: the run's settings, the headline table and the per-category table."""
    lines = [f"# {result['benchmark']}: {result.get('model', '')}".rstrip(": "), ""]
    run = result.get("run", {})
    if run:
        lines += [", ".join(f"{k}={v}" for k, v in run.items()), ""]
    lines += ["| metric | score (%) |", "|---|---|"]
    lines += [f"| {k} | {format_value(v)} |" for k, v in result["summary"].items()]
    issues = result.get("issues")
    if issues:
        lines += ["", "| data issue | count |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in issues.items()]
    categories = result.get("categories", {})
    if categories:
        lines += ["", "| category | score (%) |", "|---|---|"]
        lines += [f"| {k} | {format_value(v)} |" for k, v in categories.items()]
    diagnostics = result.get("diagnostics")
    if diagnostics:
        keys = ("n", "accuracy", "accuracy_both_orders", "position_consistency", "abstention_rate", "no_verdict_rate")
        lines += ["", "| diagnostic (all judged pairs) | value |", "|---|---|"]
        lines += [f"| {k} | {format_value(diagnostics.get(k))} |" for k in keys]
        curve = diagnostics.get("vote_curve")
        if curve:
            lines += ["", "| votes per order | accuracy (%) |", "|---|---|"]
            lines += [f"| {k} | {format_value(v)} |" for k, v in curve.items()]
        calibration = diagnostics.get("probability")
        if calibration:
            lines += calibration_lines(calibration)
    return "\n".join(lines) + "\n"


def _fraction(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def calibration_lines(calibration: dict[str, Any]) -> list[str]:
    """Markdown tables of :func:`gram_rr.eval.calibration.calibration_metrics`: the numbers, then the bins."""
    lines = ["", "| probability P(A better) (all judged pairs) | value |", "|---|---|"]
    lines += [
        f"| pairs with a probability | {calibration['n']} |",
        f"| pairs without one | {calibration['missing']} |",
        f"| AUC (label A positive) | {_fraction(calibration['auc'])} |",
        f"| Brier score | {_fraction(calibration['brier'])} |",
        f"| ECE ({len(calibration['bins'])} confidence bins) | {_fraction(calibration['ece'])} |",
        f"| accuracy of P > 0.5 (%) | {format_value(calibration['accuracy'])} |",
    ]
    lines += ["", "| confidence max(p, 1-p) | pairs | mean confidence | accuracy |", "|---|---|---|---|"]
    lines += [
        f"| {b['low']:.2f}-{b['high']:.2f} | {b['n']} | {_fraction(b['confidence'])} | {_fraction(b['accuracy'])} |"
        for b in calibration["bins"]
    ]
    return lines


def write_markdown(path: str | Path, result: dict[str, Any]) -> Path:
    return write_text(path, markdown(result))


def write_charts(out_dir: str | Path, result: dict[str, Any]) -> list[Path]:
    """``categories.png`` (a bar per category), with votes ``vote_curve.png``, and with
    verdict probabilities ``reliability.png`` (the reliability diagram)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    written = []
    categories = {k: v for k, v in result.get("categories", {}).items() if v is not None}
    if categories:
        fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(categories) + 2), 3.5))
        ax.bar(range(len(categories)), list(categories.values()), color="#4C72B0")
        ax.set_xticks(range(len(categories)), list(categories), rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 100)
        ax.axhline(50, color="grey", linestyle="--", linewidth=0.8)  # chance for a pairwise choice
        ax.set_ylabel("score (%)")
        ax.set_title(f"{result['benchmark']}: {result.get('model', '')}", fontsize=9)
        for x, v in enumerate(categories.values()):
            ax.text(x, v + 1, f"{v:.1f}", ha="center", fontsize=7)
        fig.tight_layout()
        written.append(atomic_save(out_dir / "categories.png", lambda t: fig.savefig(t, format="png", dpi=120)))
        plt.close(fig)
    curve = (result.get("diagnostics") or {}).get("vote_curve")
    if curve:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        ax.plot([int(k) for k in curve], list(curve.values()), marker="o")
        ax.set_xlabel("votes per order (k)")
        ax.set_ylabel("accuracy (%)")
        ax.set_title("vote@k", fontsize=9)
        fig.tight_layout()
        written.append(atomic_save(out_dir / "vote_curve.png", lambda t: fig.savefig(t, format="png", dpi=120)))
        plt.close(fig)
    calibration = (result.get("diagnostics") or {}).get("probability")
    if calibration:
        title = f"{result['benchmark']}: {result.get('model', '')}".rstrip(": ")
        written.append(plot_reliability(calibration, out_dir / "reliability.png", title))
    return written


def write_report(out_dir: str | Path, result: dict[str, Any]) -> dict[str, Path]:
    """``results.json``, ``results.md`` and the charts in ``out_dir``."""
    out_dir = Path(out_dir)
    paths = {
        "json": write_json(out_dir / "results.json", result),
        "markdown": write_markdown(out_dir / "results.md", result),
    }
    for chart in write_charts(out_dir, result):
        paths[chart.stem] = chart
    return paths
