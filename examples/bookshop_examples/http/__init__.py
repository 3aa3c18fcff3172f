"""The example HTTP app: FastAPI over a bookshop, wire-compatible with the bookstore REST API
that the existing web client speaks.

Run it with uvicorn's factory mode::

    BOOKSHOP_DATABASE_URL=memory:// uvicorn bookshop_examples.http.app:create_app --factory
"""

from bookshop_examples.http.app import create_app

__all__ = ["create_app"]
