"""In-memory adapters: complete, transactional, and the reference model for every port."""

from bookshop_adapters.memory.catalog import MemoryBookRepository, MemoryGenreRepository
from bookshop_adapters.memory.search import MemorySearchIndex
from bookshop_adapters.memory.store import Journal, MemoryStore
from bookshop_adapters.memory.uow import MemoryBackend, MemoryUnitOfWork

__all__ = [
    "Journal",
    "MemoryBackend",
    "MemoryBookRepository",
    "MemoryGenreRepository",
    "MemorySearchIndex",
    "MemoryStore",
    "MemoryUnitOfWork",
]
