"""``python -m examples.cli``: the same as the ``bookshop`` console script."""

from examples.cli.main import main

main(prog_name="bookshop")
