"""Demo data: a small catalog to try the shop with, and the function that seeds it."""

from bookshop_adapters.demo.seed import DEMO_BOOKS_RESOURCE, demo_rows, seed_demo

__all__ = ["DEMO_BOOKS_RESOURCE", "demo_rows", "seed_demo"]
