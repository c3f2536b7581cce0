"""Command-line helpers: `df4lcz config-doc`, `df4lcz check-config FILE`, `df4lcz demo OUT`."""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError, schema_markdown, validate_config
from .preflight import load_config

DOC_HEADER = """# Configuration reference

Every key of `config.yaml`, generated from `src/df4lcz/schemas/config.schema.yaml` by
`make docs` (`df4lcz config-doc`). The workflow validates the config against this schema before
it builds any job: unknown keys, wrong types, out-of-range values (e.g. an LCZ code outside
1–17) and missing input files stop the run with a message naming the key.

"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="df4lcz", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("config-doc", help="print docs/config.md (the config reference) to stdout")
    chk = sub.add_parser("check-config", help="validate a config file and print problems")
    chk.add_argument("config")
    demo = sub.add_parser("demo", help="generate the demo cities into a folder (as rule demo_city does)")
    demo.add_argument("out")
    demo.add_argument("--config", default=None, help="config file whose demo section to use")
    args = parser.parse_args(argv)
    if args.cmd == "config-doc":
        sys.stdout.write(DOC_HEADER + schema_markdown())
        return 0
    if args.cmd == "check-config":
        try:
            load_config(args.config)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"{args.config}: valid")
        return 0
    if args.cmd == "demo":
        from .demo import DemoSettings, generate_demo
        from .logs import setup_logging

        setup_logging(None)
        section = load_config(args.config, check_files=False)["demo"] if args.config else {}
        settings = DemoSettings.from_config(validate_config({"demo": section})["demo"])
        generate_demo(args.out, settings)
        return 0
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
