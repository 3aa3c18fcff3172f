"""``python -m bookshop_examples.cli``: the same as the ``bookshop`` console script."""

from bookshop_examples.cli.main import main

main(prog_name="bookshop")
