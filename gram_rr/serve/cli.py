"""Serve a reward reasoner over HTTP on Ray Serve.

    python -m gram_rr.serve --model smollm2-135m-instruct [--engine vllm|hf] [--replicas N] [--port 8000] \\
        [--ray-address ADDRESS] [judge.votes=4 judge.both_orders=true engine.max_model_len=4096 ...]

Overrides are ``judge.*`` / ``engine.*`` settings as ``key=value``, also written as flags
(``--judge.votes=4``). Without ``--ray-address`` (or ``RAY_ADDRESS``) a local Ray is started and
stopped on exit (Ctrl-C or SIGTERM); on a joined cluster only the application is deleted.
Endpoints: see :mod:`gram_rr.serve.routes`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence

from gram_rr.cli_args import add_dataclass_arguments, dataclass_from_args, overrides_epilog
from gram_rr.config import ConfigError, section_configs
from gram_rr.engines.config import BACKENDS, EngineConfig
from gram_rr.judge import JudgeConfig
from gram_rr.serve.config import ServeConfig

_SECTIONS = ("judge", "engine")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gram_rr.serve",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=overrides_epilog({"judge": JudgeConfig, "engine": EngineConfig}),
    )
    parser.add_argument("--model", required=True, help="reward reasoner: resolve_model name or checkpoint folder")
    parser.add_argument("--engine", choices=BACKENDS, default="vllm", help="generation backend")
    add_dataclass_arguments(parser, ServeConfig)
    parser.add_argument("overrides", nargs="*", help="judge.* / engine.* settings as key=value")
    return parser


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, JudgeConfig, EngineConfig, ServeConfig]:
    """The flags, and the configs with every override applied (``--judge.x=v`` as ``judge.x=v``)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    flags = [a for a in extra if a.startswith(tuple(f"--{s}." for s in _SECTIONS)) and "=" in a]
    unknown = [a for a in extra if a not in flags]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)} (overrides are --judge.key=value or judge.key=value)")
    configs = section_configs(
        {"judge": (JudgeConfig, {}), "engine": (EngineConfig, {"backend": args.engine, "model": args.model})},
        [*args.overrides, *flags],
    )
    return args, configs["judge"], configs["engine"], dataclass_from_args(ServeConfig, args)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    try:
        _, judge_config, engine_config, config = parse_args(argv)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from ray import serve

    from gram_rr.ray_session import RaySession
    from gram_rr.serve.deployment import APP_NAME, application

    signal.signal(signal.SIGTERM, _stop)
    with RaySession(address=config.ray_address or None):
        serve.start(
            http_options={"host": config.host, "port": config.port, "request_timeout_s": config.request_timeout_s}
        )
        try:
            serve.run(application(engine_config, judge_config, config), name=APP_NAME, route_prefix="/")
            print(
                f"gram-rr reward service: http://{config.host}:{config.port} ({engine_config.model} on "
                f"{engine_config.backend}, {config.replicas} replica(s)); Ctrl-C stops it",
                file=sys.stderr, flush=True,
            )
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            serve.delete(APP_NAME)
    return 0
