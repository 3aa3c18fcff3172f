"""Demo data: a small catalog to try the shop with, and the function that seeds it."""

from bookshop_adapters.demo.seed import DEMO_BOOKS_RESOURCE, demo_rows, seed_demo
from bookshop_adapters.demo.users import (
    DEMO_ADMIN_EMAIL,
    DEMO_CUSTOMER_EMAIL,
    DemoCredentials,
    DemoUsers,
    create_demo_users,
    reset_demo_passwords,
)

__all__ = [
    "DEMO_ADMIN_EMAIL",
    "DEMO_BOOKS_RESOURCE",
    "DEMO_CUSTOMER_EMAIL",
    "DemoCredentials",
    "DemoUsers",
    "create_demo_users",
    "demo_rows",
    "reset_demo_passwords",
    "seed_demo",
]
