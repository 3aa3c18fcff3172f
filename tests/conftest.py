"""The test harness: every fixture comes from the public testing kit.

``bookshop_adapters.testing.pytest_plugin`` provides ``shop``/``backend_url`` (one run per
backend: memory, sqlite, postgres), ``shop_factory``, ``clock``, ``admin``, ``customer`` and
the session's ``postgres_url`` (``$BOOKSHOP_TEST_POSTGRES_URL`` or a throwaway server).
"""

pytest_plugins = ["bookshop_adapters.testing.pytest_plugin"]
