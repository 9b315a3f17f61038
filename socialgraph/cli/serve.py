"""``socialgraph serve``: the HTTP scoring service and its explorer page."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer


def serve(
    model: Path = typer.Option(..., "--model", "-m", help="Bundle folder to serve; users added through the service "
                               "are saved back into it."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    token_file: Optional[Path] = typer.Option(None, "--token-file", help="File holding the bearer token (default: "
                                              "$SOCIALGRAPH_TOKEN)."),
    hidden: Optional[Path] = typer.Option(None, "--hidden", help="CSV with a user_id column: users hidden from "
                                          "everyone (the service treats them as unknown)."),
    threads: int = typer.Option(1, "--threads", min=1, help="torch threads (requests run concurrently; one each "
                                "is fastest on a shared machine)."),
) -> None:
    """Serve a model over HTTP: score, suggest, explain, new users.

    Every endpoint but /health, /ready, /openapi.json, /docs and the
    /explorer page needs `Authorization: Bearer TOKEN`. The OpenAPI
    document is at /openapi.json; the explorer page at /explorer.

    Examples:

      SOCIALGRAPH_TOKEN=s3cret socialgraph serve --model models/lastfm

      socialgraph serve --model models/lastfm --port 9000 --token-file /run/secrets/sg-token
    """
    from socialgraph.cli.common import fail

    token = _token(token_file)
    if not token:
        fail("no token: set SOCIALGRAPH_TOKEN or pass --token-file FILE (every data endpoint requires it)")
    import torch
    import uvicorn

    from socialgraph.jobs.suggest import read_id_file
    from socialgraph.serve.app import create_app
    from socialgraph.serve.service import ModelService

    torch.set_num_threads(threads)
    ids = [] if hidden is None else read_id_file(hidden, ("user_id",))["user_id"].tolist()
    service = ModelService(model, hidden=ids)
    typer.echo(f"serving {model} ({service.predictor.num_users} users) on http://{host}:{port} "
               f"(explorer: /explorer, API: /docs)", err=True)
    uvicorn.run(create_app(service, token), host=host, port=port, log_level="warning")


def _token(token_file: Optional[Path]) -> str:
    if token_file is not None:
        try:
            return token_file.read_text().strip()
        except OSError as err:
            from socialgraph.cli.common import fail

            fail(f"--token-file {token_file}: {err.strerror.lower() if err.strerror else err}")
    return os.environ.get("SOCIALGRAPH_TOKEN", "").strip()
