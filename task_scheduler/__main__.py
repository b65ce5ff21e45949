"""``python -m task_scheduler serve --webui URL [--webui URL2 ...]``: the standalone queue server."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

ENV_STANDALONE_DB = "TASK_SCHEDULER_STANDALONE_DB"


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m task_scheduler", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the queue in front of one or several WebUIs started with --api",
        description="Queue server in front of WebUIs' HTTP APIs; everything else is passed through to them.",
    )
    serve.add_argument(
        "--webui",
        action="append",
        required=True,
        metavar="URL",
        help="a WebUI started with --api, e.g. http://127.0.0.1:7860 (repeat for several; "
        "http://user:pass@host:port if that WebUI has --api-auth)",
    )
    serve.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=os.environ.get(ENV_STANDALONE_DB),
        help=f"queue database: a file, or a postgresql://user@host/db URL shared with WebUIs "
        f"(default: ${ENV_STANDALONE_DB}, else standalone_data/task_scheduler.sqlite3 in the "
        "extension's folder)",
    )
    serve.add_argument(
        "--files",
        metavar="DIR",
        help="with a PostgreSQL queue: a folder every worker mounts for input images "
        "(default: in the database)",
    )
    serve.add_argument("--results", metavar="DIR", help="generated images (default: beside the database)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7870, help="port to listen on (default: 7870)")
    serve.add_argument(
        "--api-auth", metavar="USER:PASS", help="require HTTP Basic credentials (comma-separated pairs)"
    )
    serve.add_argument(
        "--allow-private-callbacks",
        action="store_true",
        help="let a task's callback_url reach loopback and private addresses (127.0.0.1, 192.168.x.x, "
        "...), for a receiver of your own; refused by default",
    )
    serve.add_argument(
        "--strict-check", action="store_true", help="refuse a task for any warning of the check too"
    )
    serve.add_argument(
        "--unknown-networks-are-errors",
        action="store_true",
        help="refuse a task naming a LoRA / LyCORIS / hypernetwork no WebUI has (default: queue it marked)",
    )
    serve.add_argument(
        "--fail-new-warnings-at-start",
        action="store_true",
        help="fail a task that, when it starts, names something gone since it was queued (default: run it)",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return main


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .checker import CheckSettings
    from .db_location import is_postgres_url
    from .standalone.server import ServerConfig, Standalone

    for url in args.webui:
        if not url.startswith(("http://", "https://")):
            print(f"--webui {url!r}: give a URL such as http://127.0.0.1:7860", file=sys.stderr)  # noqa: T201
            return 2
    config = ServerConfig(webuis=list(args.webui))
    if args.db:
        config.db_path = args.db if is_postgres_url(args.db) else Path(args.db).expanduser().resolve()
    if args.files:
        config.files_dir = Path(args.files).expanduser().resolve()
    if args.results:
        config.results_dir = Path(args.results).expanduser().resolve()
    if args.api_auth:
        config.api_auth = [args.api_auth]
    config.allow_private_callbacks = args.allow_private_callbacks
    config.check = CheckSettings(
        networks_are_errors=args.unknown_networks_are_errors,
        strict=args.strict_check,
        at_start="fail" if args.fail_new_warnings_at_start else "warn",
    )
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.log_level != "debug":  # one line per health check and progress poll otherwise
        logging.getLogger("httpx").setLevel(logging.WARNING)
    server = Standalone(config)
    uvicorn.run(server.app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())
