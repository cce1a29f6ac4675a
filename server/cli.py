"""The ``fieldlog`` command (also ``python -m server``)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from server.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fieldlog", description="志愿服务台账 Fieldlog server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate (SQLite) and serve the app and API")
    serve.add_argument("--host", help="override FIELDLOG_HOST")
    serve.add_argument("--port", type=int, help="override FIELDLOG_PORT")

    sub.add_parser("migrate", help="apply database migrations (the release step on PostgreSQL)")
    sub.add_parser("demo", help="load the demo units, teams and accounts")

    from server.accounts import commands

    commands.add_parsers(sub)

    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "serve":
        return serve_command(settings, args)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "demo":
        return asyncio.run(_demo(settings, print_accounts=True))
    return commands.run(settings, args)


async def _migrate(settings: Settings) -> int:
    from server import db

    db.use_engine(db.engine_for(settings))
    await db.migrate()
    print(f"Migrated {db.describe(settings)}")
    return 0


async def _demo(settings: Settings, print_accounts: bool) -> int:
    from server import db
    from server.demo import demo_accounts_text, demo_loaded, load_demo

    await db.connect(settings)
    try:
        if await demo_loaded():
            print("Demo data is already loaded.")
        else:
            await load_demo()
            print("Loaded the demo units, teams and accounts.")
        if print_accounts:
            print(demo_accounts_text())
    finally:
        await db.disconnect()
    return 0


def serve_command(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server import db

    host = args.host or settings.host
    port = args.port or settings.port

    async def prepare() -> None:
        await db.connect(settings)  # migrates SQLite; refuses an unmigrated PostgreSQL
        await db.disconnect()

    try:
        asyncio.run(prepare())
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    if settings.demo:
        asyncio.run(_demo(settings, print_accounts=True))
    print(f"Fieldlog serving {db.describe(settings)} at http://{host}:{port}", flush=True)
    uvicorn.run(
        "server.asgi:app",
        host=host,
        port=port,
        workers=settings.workers,
        log_level="info" if settings.debug else "warning",
        proxy_headers=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
