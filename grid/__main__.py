"""`python -m grid ...` is the `grid` command (useful where the console script is not on PATH)."""

from grid.cli import main

if __name__ == "__main__":
    main()
