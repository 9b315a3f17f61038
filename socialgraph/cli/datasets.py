"""``socialgraph datasets list|info`` (owned by the dataset registry work)."""
import typer

app = typer.Typer(help="List datasets and show their counts and modalities.", no_args_is_help=True)
