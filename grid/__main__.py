"""`python -m grid ...` is the `grid` command (useful where the console script is not on PATH)."""

from grid.cli import main

main()
