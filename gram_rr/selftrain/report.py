"""The run report: JSON, Markdown and PNG plots, rebuilt from the manifest after every stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gram_rr.atomic import atomic_save, write_json, write_text
from gram_rr.eval.calibration import plot_reliability
from gram_rr.selftrain import stage_names


def _get(stages: dict[str, Any], name: str, *keys: str) -> Any:
    node: Any = stages.get(name)
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def round_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per reasoner (untrained, round 0, 1, ...) with what the run measured so far."""
    stages = manifest["stages"]
    rows = []
    if stage_names.EVAL_BASE in stages:
        rows.append({"round": "untrained", **_eval_columns(stages, stage_names.EVAL_BASE)})
    k = 0
    while any(name in stages for name in stage_names.round_stages(k)):
        predict, proofs = stage_names.predict(k), stage_names.proofs(k)
        row: dict[str, Any] = {"round": str(k)}
        if k > 0:
            row.update(
                predicted=_get(stages, predict, "predicted"),
                kept=_get(stages, predict, "kept"),
                dropped=_get(stages, predict, "dropped"),
                pseudo_label_accuracy=_get(stages, predict, "pseudo_label_accuracy"),
                pseudo_label_accuracy_kept=_get(stages, predict, "pseudo_label_accuracy_kept"),
                pseudo_labels_kept_by_group=_get(stages, predict, "pseudo_labels_kept_by_group"),
            )
        row.update(
            proofs_in=_get(stages, proofs, "pairs_in"),
            proved=_get(stages, proofs, "proved"),
            proof_samples_rejected=_get(stages, proofs, "proof_samples_rejected"),
            merged=_get(stages, stage_names.reasoner(k), "merged"),
            trained=_get(stages, stage_names.reasoner(k), "pairs"),
            **_eval_columns(stages, stage_names.evaluation(k)),
            minutes=_minutes(stages, stage_names.round_stages(k)),
        )
        rows.append(row)
        k += 1
    if stage_names.EVAL_CONTROL in stages:
        trained = _get(stages, stage_names.CONTROL, "pairs")
        rows.append({
            "round": "control", "merged": trained, "trained": trained,
            **_eval_columns(stages, stage_names.EVAL_CONTROL),
            "minutes": _minutes(stages, (stage_names.CONTROL, stage_names.EVAL_CONTROL)),
        })
    return rows


def _minutes(stages: dict[str, Any], names: tuple[str, ...]) -> float:
    """The named stages' recorded time, in minutes (one decimal)."""
    return round(sum(info.get("seconds", 0) for name, info in stages.items() if name in names) / 60, 1)


def _eval_columns(stages: dict[str, Any], name: str) -> dict[str, Any]:
    metrics = _get(stages, name, "metrics") or {}
    orders = [metrics.get("accuracy_original_order"), metrics.get("accuracy_swapped_order")]
    orders = [v for v in orders if v is not None]
    calibration = metrics.get("probability") or {}
    return {
        "heldout_accuracy": metrics.get("accuracy"),
        "heldout_accuracy_per_order": sum(orders) / len(orders) if orders else None,
        "position_consistency": metrics.get("position_consistency"),
        "heldout_accuracy_both_orders": metrics.get("accuracy_both_orders"),
        "abstention_rate": metrics.get("abstention_rate"),
        "heldout_auc": calibration.get("auc"),
        "heldout_ece": calibration.get("ece"),
        "heldout_by_group": metrics.get("accuracy_by_group"),
    }


def last_calibration(manifest: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The last evaluation stage whose verdicts had probabilities, with their calibration metrics."""
    found = None
    for name, info in manifest["stages"].items():
        calibration = (info.get("metrics") or {}).get("probability") if stage_names.is_evaluation(name) else None
        if calibration:
            found = (name, calibration)
    return found


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v) or "0"
    return str(value)


COLUMNS = [
    ("round", "round"),
    ("predicted", "predicted"),
    ("kept", "kept"),
    ("pseudo_label_accuracy", "pseudo-label acc % (all)"),
    ("pseudo_label_accuracy_kept", "pseudo-label acc % (kept)"),
    ("proofs_in", "to prove"),
    ("proved", "proved"),
    ("merged", "merged"),
    ("heldout_accuracy", "held-out acc %"),
    ("heldout_accuracy_per_order", "acc % one order"),
    ("heldout_accuracy_both_orders", "acc % both orders"),
    ("position_consistency", "same verdict both orders %"),
    ("abstention_rate", "abstain %"),
    ("heldout_auc", "AUC"),
    ("heldout_ece", "ECE"),
    ("minutes", "minutes"),
]
# Columns that are fractions in [0, 1], printed with three decimals.
FRACTION_COLUMNS = {"heldout_auc", "heldout_ece"}


def markdown(manifest: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = ["# gram-rr self-training report", ""]
    lines += ["| " + " | ".join(title for _, title in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += [
        "| " + " | ".join(_fmt(row.get(key), 3 if key in FRACTION_COLUMNS else 1) for key, _ in COLUMNS) + " |"
        for row in rows
    ]
    lines += ["", "Dropped pseudo-labels and rejected proof samples per round:", ""]
    for row in rows:
        if row.get("dropped") is not None or row.get("proof_samples_rejected") is not None:
            lines.append(
                f"- round {row['round']}: pseudo-labels dropped {_fmt(row.get('dropped'))}; "
                f"proof samples rejected {_fmt(row.get('proof_samples_rejected'))}"
            )
    lines += _group_tables(rows)
    lines += ["", "| stage | what | seconds |", "|---|---|---|"]
    for name, info in manifest["stages"].items():
        lines.append(f"| {name} | {info.get('title', '')} | {info.get('seconds', '-')} |")
    total = sum(info.get("seconds", 0) for info in manifest["stages"].values())
    lines += ["", f"Total stage time: {total / 60:.1f} minutes. Accuracies are on the held-out split: "
              "'held-out acc' pools both orders' votes (a tie counts as wrong), 'one order' is the mean accuracy of "
              "the two orders judged separately (50 = a model that always picks the same position), 'both orders' "
              "counts pairs right in both. Pseudo-label accuracy uses the demo data's gold labels, which training "
              "never reads. AUC and ECE rate the held-out P(A better) from the answer-token log-probabilities "
              "(AUC: 0.5 = no ranking, 1 = every pair ranked right; ECE: 0 = confidence matches accuracy; '-' when "
              "the verdicts had no probabilities); reliability.png is the last such stage's reliability diagram. "
              "'merged' counts every proved pair up to the round (reasoner-k/merged.jsonl); a reasoner that continues "
              "from the previous one trains on that round's pairs plus a replay sample ('trained' in report.json, "
              "reasoner-k/trained.jsonl); the control row counts the pairs the control trained on.", ""]
    return "\n".join(lines)


def _group_tables(rows: list[dict[str, Any]]) -> list[str]:
    """Held-out accuracy and kept pseudo-labels per group (demo family, benchmark subset), when the data names groups.

    A judge that is right on some groups and at chance on others labels the latter no better than chance,
    which the pooled columns hide.
    """
    lines: list[str] = []
    evaluated = [row for row in rows if row.get("heldout_by_group")]
    if evaluated:
        groups = sorted({name for row in evaluated for name in row["heldout_by_group"]})
        sizes = {name: next(row["heldout_by_group"][name]["n"] for row in evaluated if name in row["heldout_by_group"])
                 for name in groups}
        lines += ["", "Held-out accuracy % by group (both orders pooled; pairs per group in brackets):", "",
                  "| round | " + " | ".join(f"{name} ({sizes[name]})" for name in groups) + " |",
                  "|" + "---|" * (len(groups) + 1)]
        for row in evaluated:
            cells = [_fmt((row["heldout_by_group"].get(name) or {}).get("accuracy")) for name in groups]
            lines.append(f"| {row['round']} | " + " | ".join(cells) + " |")
    labelled = [row for row in rows if row.get("pseudo_labels_kept_by_group")]
    if labelled:
        groups = sorted({name for row in labelled for name in row["pseudo_labels_kept_by_group"]})
        lines += ["", "Kept pseudo-labels by group (right / kept, against the data's gold labels):", "",
                  "| round | " + " | ".join(groups) + " |", "|" + "---|" * (len(groups) + 1)]
        for row in labelled:
            counts = row["pseudo_labels_kept_by_group"]
            cells = [f"{counts[name]['right']} / {counts[name]['kept']}" if name in counts else "-" for name in groups]
            lines.append(f"| {row['round']} | " + " | ".join(cells) + " |")
    return lines


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [row["round"] for row in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    series = (
        ("heldout_accuracy", "held-out accuracy"),
        ("heldout_accuracy_per_order", "accuracy, one order"),
        ("heldout_accuracy_both_orders", "correct in both orders"),
        ("abstention_rate", "held-out abstentions"),
    )
    for key, title in series:
        values = [row.get(key) for row in rows]
        ax.plot(labels, [v if v is not None else float("nan") for v in values], marker="o", label=title)
    pseudo = [row.get("pseudo_label_accuracy") for row in rows]
    pseudo = [v if v is not None else float("nan") for v in pseudo]
    ax.plot(labels, pseudo, marker="s", linestyle="--", label="pseudo-label accuracy")
    ax.axhline(50, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("reasoner after round")
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title("gram-rr self-training")
    ax.legend(loc="lower right")
    fig.tight_layout()
    atomic_save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def write_report(run_root: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Refresh report.json, report.md and report.png in the run directory, and
    reliability.png for the last evaluation stage whose verdicts had probabilities."""
    rows = round_rows(manifest)
    write_json(run_root / "report.json", {"rounds": rows, "stages": manifest["stages"]})
    write_text(run_root / "report.md", markdown(manifest, rows))
    plot(rows, run_root / "report.png")
    calibrated = last_calibration(manifest)
    if calibrated:
        name, calibration = calibrated
        plot_reliability(calibration, run_root / "reliability.png", f"{name}: held-out split")
    return rows
