"""The catalog context: genres as a taxonomy, books, stock."""

from bookshop_core.catalog.commands import (
    AdjustStock,
    CreateBook,
    CreateGenre,
    ListBooks,
    SetStock,
    UpdateBook,
    UpdateGenre,
)
from bookshop_core.catalog.entities import (
    Book,
    BookQuery,
    BookRestocked,
    BookSort,
    Genre,
    GenreNode,
    NewBook,
    SortDirection,
    StockChange,
)
from bookshop_core.catalog.errors import (
    BookIsbnConflict,
    BookNotFound,
    GenreConflict,
    GenreInUse,
    GenreNotFound,
    InsufficientStock,
    SearchUnavailable,
)
from bookshop_core.catalog.images import (
    MAX_IMAGE_BYTES,
    CoverImages,
    ImageStore,
    StoredImage,
    UploadRejected,
    sniff_image_type,
)
from bookshop_core.catalog.importing import (
    IMPORT_COLUMNS,
    ImportedRow,
    ImportReport,
    RowError,
    parse_import_row,
)
from bookshop_core.catalog.isbn import normalize_isbn, to_isbn10, to_isbn13
from bookshop_core.catalog.ports import BookRepository, CatalogUnitOfWork, GenreRepository
from bookshop_core.catalog.use_cases import Catalog, build_genre_tree

__all__ = [
    "IMPORT_COLUMNS",
    "MAX_IMAGE_BYTES",
    "AdjustStock",
    "Book",
    "BookIsbnConflict",
    "BookNotFound",
    "BookQuery",
    "BookRepository",
    "BookRestocked",
    "BookSort",
    "Catalog",
    "CatalogUnitOfWork",
    "CoverImages",
    "CreateBook",
    "CreateGenre",
    "Genre",
    "GenreConflict",
    "GenreInUse",
    "GenreNode",
    "GenreNotFound",
    "GenreRepository",
    "ImageStore",
    "ImportReport",
    "ImportedRow",
    "InsufficientStock",
    "ListBooks",
    "NewBook",
    "RowError",
    "SearchUnavailable",
    "SetStock",
    "SortDirection",
    "StockChange",
    "StoredImage",
    "UpdateBook",
    "UpdateGenre",
    "UploadRejected",
    "build_genre_tree",
    "normalize_isbn",
    "parse_import_row",
    "sniff_image_type",
    "to_isbn10",
    "to_isbn13",
]
