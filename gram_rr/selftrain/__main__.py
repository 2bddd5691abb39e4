"""``python -m gram_rr.selftrain``: run (or resume) GRAM-R2 self-training from a recipe.

    python -m gram_rr.selftrain --rounds 3
    python -m gram_rr.selftrain --recipe recipes/cpu-smoke.yaml output_dir=runs/smoke
    python -m gram_rr.selftrain --recipe recipes/llama-3.2-3b.yaml --ray-address auto --dry-run
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from gram_rr.config import help_lines, to_dict


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from gram_rr.selftrain.recipe import DEFAULT_RECIPE

    parser = argparse.ArgumentParser(
        prog="python -m gram_rr.selftrain",
        description="GRAM-R2 self-training: prover, stage 0, then rounds of predict -> prove -> filter -> merge -> SFT -> eval. "
        "Re-running the same command resumes at the first unfinished stage.",
        epilog="Overrides: any recipe field as key=value, e.g. data.unlabeled_per_round=32 reasoner_train.learning_rate=1e-4. "
        "--help-fields lists them all.",
    )
    parser.add_argument("--recipe", default=str(DEFAULT_RECIPE), help="recipe YAML file or shipped recipe name (python -m gram_rr.recipes list; default: %(default)s)")
    parser.add_argument("--rounds", type=int, help="self-training rounds (overrides the recipe's `rounds`)")
    parser.add_argument("--output-dir", help="run directory (overrides `output_dir`)")
    parser.add_argument("--ray-address", help="join this Ray cluster (or set RAY_ADDRESS); output_dir must be on storage all nodes see")
    parser.add_argument("--new-run", action="store_true", help="archive an existing run directory and start again")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved recipe and the stage plan, run nothing")
    parser.add_argument("--help-fields", action="store_true", help="list every recipe field with its default and help")
    parser.add_argument("overrides", nargs="*", help="recipe overrides, key=value")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from gram_rr.selftrain.recipe import SelfTrainRecipe, load_recipe

    if args.help_fields:
        print("\n".join(help_lines(SelfTrainRecipe)))
        return 0
    overrides = list(args.overrides)
    if args.rounds is not None:
        overrides.append(f"rounds={args.rounds}")
    if args.output_dir:
        overrides.append(f"output_dir={args.output_dir}")
    ray_address = args.ray_address or os.environ.get("RAY_ADDRESS")
    if ray_address:
        overrides += [f"engine.ray_address={ray_address}", f"prover_train.ray_address={ray_address}",
                      f"reasoner_train.ray_address={ray_address}"]
    recipe = load_recipe(args.recipe, overrides)

    from gram_rr.selftrain.runner import plan_lines, run

    if args.dry_run:
        print(json.dumps(to_dict(recipe), indent=2))
        print("\n".join(plan_lines(recipe)))
        return 0
    run(recipe, new_run=args.new_run)
    return 0


if __name__ == "__main__":
    from gram_rr.cli_errors import run_cli

    sys.exit(run_cli(main))
