"""Type-only proof that every adapter satisfies the core port it implements, and that the
composition root's typed hooks refuse what they must.

Nothing here runs: mypy --strict reads these assignments and fails the build when an adapter
drifts from its Protocol (STYLE habit 11). Add a line when you add an adapter.

The expected errors are pinned with ``# type: ignore[code]``: mypy --strict warns about an
unused ignore, so the build also fails the day such a mistake stops being a type error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from bookshop_adapters.argon2 import Argon2PasswordHasher
    from bookshop_adapters.backend import Backend, ShopUnitOfWork
    from bookshop_adapters.bootstrap import Repositories
    from bookshop_adapters.images import LocalDirectoryImageStore, MemoryImageStore
    from bookshop_adapters.jwt import PyJwtTokenCodec
    from bookshop_adapters.memory import MemoryBackend, MemoryStore
    from bookshop_adapters.memory.catalog import MemoryBookRepository, MemoryGenreRepository
    from bookshop_adapters.memory.identity import (
        MemoryExternalIdentityRepository,
        MemoryLoginThrottleRepository,
        MemoryRefreshTokenRepository,
        MemoryUserRepository,
    )
    from bookshop_adapters.memory.oauth import MemoryOAuthStateRepository
    from bookshop_adapters.memory.reviews import MemoryReviewRepository
    from bookshop_adapters.memory.store import Journal
    from bookshop_adapters.oauth import (
        GitHubOAuthProvider,
        GoogleIdTokenJwksVerifier,
        GoogleOAuthProvider,
    )
    from bookshop_adapters.sqlalchemy import SqlBackend
    from bookshop_adapters.sqlalchemy.catalog import SqlBookRepository, SqlGenreRepository
    from bookshop_adapters.sqlalchemy.identity import (
        SqlExternalIdentityRepository,
        SqlLoginThrottleRepository,
        SqlRefreshTokenRepository,
        SqlUserRepository,
    )
    from bookshop_adapters.sqlalchemy.oauth import SqlOAuthStateRepository
    from bookshop_adapters.sqlalchemy.reviews import SqlReviewRepository
    from bookshop_core.catalog.images import ImageStore
    from bookshop_core.catalog.ports import BookRepository, GenreRepository
    from bookshop_core.identity.oauth import (
        GoogleIdTokenVerifier,
        OAuthProvider,
        OAuthStateRepository,
    )
    from bookshop_core.identity.ports import (
        ExternalIdentityRepository,
        LoginThrottleRepository,
        PasswordHasher,
        RefreshTokenRepository,
        TokenCodec,
        UserRepository,
    )
    from bookshop_core.kernel.uow import UnitOfWorkFactory
    from bookshop_core.reviews.ports import ReviewRepository

    def _backends(memory: MemoryBackend, sql: SqlBackend) -> None:
        backends: list[Backend] = [memory, sql]
        factories: list[UnitOfWorkFactory[ShopUnitOfWork]] = [
            memory.unit_of_work,
            sql.unit_of_work,
        ]
        del backends, factories

    def _memory_repositories(store: MemoryStore, journal: Journal) -> None:
        books: BookRepository = MemoryBookRepository(store, journal)
        genres: GenreRepository = MemoryGenreRepository(store, journal)
        users: UserRepository = MemoryUserRepository(store, journal)
        tokens: RefreshTokenRepository = MemoryRefreshTokenRepository(store, journal)
        throttles: LoginThrottleRepository = MemoryLoginThrottleRepository(store, journal)
        links: ExternalIdentityRepository = MemoryExternalIdentityRepository(store, journal)
        states: OAuthStateRepository = MemoryOAuthStateRepository(store, journal)
        reviews: ReviewRepository = MemoryReviewRepository(store, journal)
        del books, genres, users, tokens, throttles, links, states, reviews

    def _sql_repositories(connection: AsyncConnection) -> None:
        books: BookRepository = SqlBookRepository(connection)
        genres: GenreRepository = SqlGenreRepository(connection)
        users: UserRepository = SqlUserRepository(connection)
        tokens: RefreshTokenRepository = SqlRefreshTokenRepository(connection)
        throttles: LoginThrottleRepository = SqlLoginThrottleRepository(connection)
        links: ExternalIdentityRepository = SqlExternalIdentityRepository(connection)
        states: OAuthStateRepository = SqlOAuthStateRepository(connection)
        reviews: ReviewRepository = SqlReviewRepository(connection)
        del books, genres, users, tokens, throttles, links, states, reviews

    def _services(
        hasher: Argon2PasswordHasher,
        codec: PyJwtTokenCodec,
        directory: LocalDirectoryImageStore,
        memory_images: MemoryImageStore,
        github: GitHubOAuthProvider,
        google: GoogleOAuthProvider,
        google_tokens: GoogleIdTokenJwksVerifier,
    ) -> None:
        hashers: PasswordHasher = hasher
        codecs: TokenCodec = codec
        images: list[ImageStore] = [directory, memory_images]
        providers: list[OAuthProvider] = [github, google]
        verifier: GoogleIdTokenVerifier = google_tokens
        del hashers, codecs, images, providers, verifier

    def _repository_overrides_are_typed(uow: ShopUnitOfWork) -> None:
        # A factory must return the port it replaces: object() is not a BookRepository.
        Repositories(books=lambda uow: object())  # type: ignore[arg-type,return-value]
        # Only the unit of work's repositories have a field.
        Repositories(bookz=lambda uow: uow.books)  # type: ignore[call-arg]
        # The right port in the wrong place is refused too.
        Repositories(genres=lambda uow: uow.books)  # type: ignore[arg-type,return-value]
        Repositories(books=lambda uow: uow.books, oauth_states=lambda uow: uow.oauth_states)
