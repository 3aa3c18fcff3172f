"""Contract: genres form a taxonomy with unique names; only unused genres can be deleted."""

from __future__ import annotations

import asyncio

import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import add_book, add_genre
from bookshop_adapters.testing.snapshot import snapshot
from bookshop_core.catalog.commands import CreateGenre, ListBooks, UpdateGenre
from bookshop_core.catalog.entities import MAX_GENRE_DEPTH, Genre, GenreNode
from bookshop_core.errors import Conflict, NotFound, ValidationError
from bookshop_core.kernel.principal import Principal

__all__ = ["GenreContract"]


async def _chain(shop: Shop, levels: int, prefix: str = "Level") -> list[Genre]:
    """A chain of ``levels`` genres, each under the one before (through the use cases)."""
    chain: list[Genre] = []
    for level in range(1, levels + 1):
        chain.append(
            await add_genre(shop, f"{prefix} {level}", parent=chain[-1] if chain else None)
        )
    return chain


async def _plant_parents(shop: Shop, parents: dict[int, int | None]) -> None:
    """Write parents straight into the store, past every check of the use cases (as bad data
    from elsewhere would be)."""
    async with shop.unit_of_work() as uow:
        for genre_id, parent_id in parents.items():
            await uow.genres.update(genre_id, parent_id=parent_id)
        await uow.commit()


def _tree_size(nodes: tuple[GenreNode, ...]) -> int:
    size, stack = 0, list(nodes)
    while stack:
        node = stack.pop()
        size += 1
        stack.extend(node.children)
    return size


def _assert_refused(error: ValidationError, field: str, type_: str) -> None:
    """A domain rule's refusal: one flat sentence about ``field``."""
    assert (error.code, error.field, error.rule) == ("VALIDATION_ERROR", field, True)
    assert [e.type for e in error.errors] == [type_]


@pytest.mark.asyncio
class GenreContract:
    """Genres: create, rename, move (never into a cycle), delete when unused, list, tree."""

    # -- create ---------------------------------------------------------------------------

    async def test_create_genre_returns_it_with_a_store_assigned_id(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A new genre gets a positive id and reads back exactly as returned."""
        genre = await shop.catalog.create_genre(admin, CreateGenre(name="Fantasy"))
        assert genre.id >= 1
        assert (genre.name, genre.parent_id) == ("Fantasy", None)
        assert await shop.catalog.get_genre(genre.id) == genre

    async def test_create_genre_strips_surrounding_whitespace(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Leading and trailing whitespace is not part of a genre's name."""
        genre = await shop.catalog.create_genre(admin, CreateGenre(name="  Poetry \t"))
        assert genre.name == "Poetry"

    async def test_create_sub_genre_under_a_parent(self, shop: Shop, admin: Principal) -> None:
        """A genre created with ``parent_id`` is a sub-genre of that parent."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await shop.catalog.create_genre(
            admin, CreateGenre(name="Fantasy", parent_id=fiction.id)
        )
        assert fantasy.parent_id == fiction.id
        assert await shop.catalog.get_genre(fantasy.id) == fantasy

    async def test_create_under_unknown_parent_is_a_validation_error(
        self, shop: Shop, admin: Principal
    ) -> None:
        """An unknown ``parent_id`` is VALIDATION_ERROR on that field, and nothing is created."""
        await add_genre(shop, "Fiction")
        before = await snapshot(shop)
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.create_genre(admin, CreateGenre(name="Fantasy", parent_id=999))
        _assert_refused(caught.value, "parent_id", "genre_not_found")
        assert await snapshot(shop) == before

    async def test_genre_names_conflict_case_insensitively(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A name differing only in case from a taken one is GENRE_CONFLICT on ``name``."""
        await add_genre(shop, "Science Fiction")
        before = await snapshot(shop)
        with pytest.raises(Conflict) as caught:
            await shop.catalog.create_genre(admin, CreateGenre(name="science FICTION"))
        assert (caught.value.code, caught.value.field) == ("GENRE_CONFLICT", "name")
        assert await snapshot(shop) == before

    async def test_sub_genre_names_are_unique_across_the_whole_taxonomy(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A sub-genre cannot reuse the name of a genre elsewhere in the tree."""
        fiction = await add_genre(shop, "Fiction")
        await add_genre(shop, "Classics")
        with pytest.raises(Conflict) as caught:
            await shop.catalog.create_genre(
                admin, CreateGenre(name="classics", parent_id=fiction.id)
            )
        assert caught.value.code == "GENRE_CONFLICT"

    async def test_name_of_a_deleted_genre_can_be_reused(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Deleting a genre frees its name."""
        old = await add_genre(shop, "Horror")
        await shop.catalog.delete_genre(admin, old.id)
        new = await add_genre(shop, "HORROR")
        assert new.name == "HORROR"
        assert new.id != old.id

    # -- update ---------------------------------------------------------------------------

    async def test_rename_changes_only_the_name(self, shop: Shop, admin: Principal) -> None:
        """Renaming keeps the genre's id and parent."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy", parent=fiction)
        renamed = await shop.catalog.update_genre(admin, fantasy.id, UpdateGenre(name="Fantasy!"))
        assert (renamed.id, renamed.name, renamed.parent_id) == (fantasy.id, "Fantasy!", fiction.id)
        assert await shop.catalog.get_genre(fantasy.id) == renamed

    async def test_rename_to_own_name_in_another_case_is_allowed(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A genre does not conflict with itself: changing only the case of its name works."""
        genre = await add_genre(shop, "fantasy")
        renamed = await shop.catalog.update_genre(admin, genre.id, UpdateGenre(name="Fantasy"))
        assert renamed.name == "Fantasy"

    async def test_rename_to_a_taken_name_conflicts(self, shop: Shop, admin: Principal) -> None:
        """Renaming onto another genre's name (any case) is GENRE_CONFLICT; nothing changes."""
        await add_genre(shop, "Fantasy")
        poetry = await add_genre(shop, "Poetry")
        before = await snapshot(shop)
        with pytest.raises(Conflict) as caught:
            await shop.catalog.update_genre(admin, poetry.id, UpdateGenre(name="FANTASY"))
        assert (caught.value.code, caught.value.field) == ("GENRE_CONFLICT", "name")
        assert await snapshot(shop) == before

    async def test_move_genre_under_another(self, shop: Shop, admin: Principal) -> None:
        """Setting ``parent_id`` moves a genre (with its name unchanged) under that parent."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy")
        moved = await shop.catalog.update_genre(
            admin, fantasy.id, UpdateGenre(parent_id=fiction.id)
        )
        assert (moved.name, moved.parent_id) == ("Fantasy", fiction.id)
        assert await shop.catalog.get_genre(fantasy.id) == moved

    async def test_move_genre_to_the_top_level(self, shop: Shop, admin: Principal) -> None:
        """``parent_id=None`` makes a sub-genre a top-level genre."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy", parent=fiction)
        moved = await shop.catalog.update_genre(admin, fantasy.id, UpdateGenre(parent_id=None))
        assert moved.parent_id is None
        assert (await shop.catalog.get_genre(fantasy.id)).parent_id is None

    async def test_moving_a_genre_under_itself_is_a_cycle(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A genre cannot be its own parent: VALIDATION_ERROR (``genre_cycle``) on
        ``parent_id``; nothing changes."""
        genre = await add_genre(shop, "Fiction")
        before = await snapshot(shop)
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.update_genre(admin, genre.id, UpdateGenre(parent_id=genre.id))
        _assert_refused(caught.value, "parent_id", "genre_cycle")
        assert await snapshot(shop) == before

    async def test_moving_a_genre_under_its_descendant_is_a_cycle(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A genre cannot move under a sub-genre of a sub-genre of its own (``genre_cycle``)."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy", parent=fiction)
        epic = await add_genre(shop, "Epic Fantasy", parent=fantasy)
        before = await snapshot(shop)
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.update_genre(admin, fiction.id, UpdateGenre(parent_id=epic.id))
        assert [e.type for e in caught.value.errors] == ["genre_cycle"]
        assert await snapshot(shop) == before

    async def test_moving_a_genre_under_a_sibling_subtree_is_allowed(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Moving into another branch of the tree is not a cycle."""
        fiction = await add_genre(shop, "Fiction")
        fantasy = await add_genre(shop, "Fantasy", parent=fiction)
        science = await add_genre(shop, "Science")
        moved = await shop.catalog.update_genre(
            admin, science.id, UpdateGenre(parent_id=fantasy.id)
        )
        assert moved.parent_id == fantasy.id

    async def test_moving_under_an_unknown_parent_is_a_validation_error(
        self, shop: Shop, admin: Principal
    ) -> None:
        """An unknown ``parent_id`` is VALIDATION_ERROR on that field; nothing changes."""
        genre = await add_genre(shop, "Fiction")
        before = await snapshot(shop)
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.update_genre(admin, genre.id, UpdateGenre(parent_id=424242))
        _assert_refused(caught.value, "parent_id", "genre_not_found")
        assert await snapshot(shop) == before

    async def test_rename_and_move_at_once(self, shop: Shop, admin: Principal) -> None:
        """One update can rename and move a genre together."""
        fiction = await add_genre(shop, "Fiction")
        genre = await add_genre(shop, "Fantsy")
        updated = await shop.catalog.update_genre(
            admin, genre.id, UpdateGenre(name="Fantasy", parent_id=fiction.id)
        )
        assert (updated.name, updated.parent_id) == ("Fantasy", fiction.id)
        assert await shop.catalog.get_genre(genre.id) == updated

    async def test_update_of_unknown_genre_is_not_found(self, shop: Shop, admin: Principal) -> None:
        """Updating a genre that does not exist is GENRE_NOT_FOUND."""
        with pytest.raises(NotFound) as caught:
            await shop.catalog.update_genre(admin, 31337, UpdateGenre(name="Nothing"))
        assert caught.value.code == "GENRE_NOT_FOUND"

    async def test_update_of_a_deleted_genre_is_not_found(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Renaming or moving a genre that was deleted is GENRE_NOT_FOUND, not a success."""
        fiction = await add_genre(shop, "Fiction")
        gone = await add_genre(shop, "Gone")
        await shop.catalog.delete_genre(admin, gone.id)
        for command in (UpdateGenre(name="Back"), UpdateGenre(parent_id=fiction.id)):
            with pytest.raises(NotFound) as caught:
                await shop.catalog.update_genre(admin, gone.id, command)
            assert caught.value.code == "GENRE_NOT_FOUND"

    # -- concurrency ----------------------------------------------------------------------

    async def test_opposite_moves_at_once_never_make_a_cycle(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Moving A under B while B moves under A (at once, many times): one move wins, the
        other is refused as a cycle, and every genre still reaches the top of the tree."""
        for attempt in range(15):
            a = await add_genre(shop, f"A{attempt}")
            b = await add_genre(shop, f"B{attempt}")
            results = await asyncio.gather(
                shop.catalog.update_genre(admin, a.id, UpdateGenre(parent_id=b.id)),
                shop.catalog.update_genre(admin, b.id, UpdateGenre(parent_id=a.id)),
                return_exceptions=True,
            )
            refused = [r for r in results if isinstance(r, ValidationError)]
            assert len(refused) == 1, results
            assert refused[0].errors[0].type == "genre_cycle"
            genres = await shop.catalog.list_genres()
            assert _tree_size(await shop.catalog.genre_tree()) == len(genres)

    async def test_a_rename_and_a_move_at_once_both_survive(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A rename and a move of one genre at once each write only their own field."""
        for attempt in range(10):
            parent = await add_genre(shop, f"Parent {attempt}")
            genre = await add_genre(shop, f"Genre {attempt}")
            await asyncio.gather(
                shop.catalog.update_genre(admin, genre.id, UpdateGenre(name=f"Renamed {attempt}")),
                shop.catalog.update_genre(admin, genre.id, UpdateGenre(parent_id=parent.id)),
            )
            stored = await shop.catalog.get_genre(genre.id)
            assert (stored.name, stored.parent_id) == (f"Renamed {attempt}", parent.id)

    # -- depth ----------------------------------------------------------------------------

    async def test_genres_nest_up_to_the_depth_limit(self, shop: Shop, admin: Principal) -> None:
        """A chain of MAX_GENRE_DEPTH genres is allowed; one more level is refused on
        ``parent_id`` (flat, type ``genre_depth``) and nothing is created."""
        chain = await _chain(shop, MAX_GENRE_DEPTH)
        assert _tree_size(await shop.catalog.genre_tree()) == MAX_GENRE_DEPTH
        before = await snapshot(shop)
        with pytest.raises(ValidationError) as caught:
            await add_genre(shop, "Too deep", parent=chain[-1])
        _assert_refused(caught.value, "parent_id", "genre_depth")
        assert await snapshot(shop) == before

    async def test_a_move_may_not_take_a_subtree_past_the_depth_limit(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Moving a genre counts the levels of its sub-genres: a two-level subtree fits under
        the second-deepest level's parent, not under the deepest."""
        chain = await _chain(shop, MAX_GENRE_DEPTH - 1)
        top = await add_genre(shop, "Moved")
        await add_genre(shop, "Moved child", parent=top)
        before = await snapshot(shop)
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.update_genre(admin, top.id, UpdateGenre(parent_id=chain[-1].id))
        _assert_refused(caught.value, "parent_id", "genre_depth")
        assert await snapshot(shop) == before
        moved = await shop.catalog.update_genre(admin, top.id, UpdateGenre(parent_id=chain[-2].id))
        assert moved.parent_id == chain[-2].id

    # -- bad stored data ------------------------------------------------------------------

    async def test_a_cycle_in_the_store_makes_reads_and_moves_end(
        self, shop: Shop, admin: Principal
    ) -> None:
        """With a cycle planted in the store (past the use cases), listing, the tree, a
        genre-filtered book listing, creating and moving all end: the cycle's genres are
        left out of the tree and the writes into it are refused."""
        fiction = await add_genre(shop, "Fiction")
        a = await add_genre(shop, "A")
        b = await add_genre(shop, "B", parent=a)
        other = await add_genre(shop, "Other")
        await add_book(shop, "In A", genre=a)
        await _plant_parents(shop, {a.id: b.id})
        assert len(await shop.catalog.list_genres()) == 4
        assert {node.id for node in await shop.catalog.genre_tree()} == {fiction.id, other.id}
        page = await shop.catalog.list_books(ListBooks(genre_id=b.id))
        assert [book.title for book in page.items] == ["In A"]
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.update_genre(admin, other.id, UpdateGenre(parent_id=a.id))
        _assert_refused(caught.value, "parent_id", "genre_depth")
        with pytest.raises(ValidationError) as caught:
            await shop.catalog.update_genre(admin, a.id, UpdateGenre(parent_id=b.id))
        _assert_refused(caught.value, "parent_id", "genre_cycle")
        with pytest.raises(ValidationError):
            await add_genre(shop, "Under the cycle", parent=b)

    async def test_a_planted_cycle_is_repaired_by_moving_one_genre_to_the_top(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Moving a genre of a planted cycle to the top level is allowed and breaks it."""
        a = await add_genre(shop, "A")
        b = await add_genre(shop, "B", parent=a)
        await _plant_parents(shop, {a.id: b.id})
        await shop.catalog.update_genre(admin, a.id, UpdateGenre(parent_id=None))
        assert await shop.catalog.genre_tree() == (
            GenreNode(a.id, "A", None, (GenreNode(b.id, "B", a.id, ()),)),
        )

    async def test_a_chain_deeper_than_the_limit_in_the_store_still_shows_as_a_tree(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A chain of 1,100 genres planted in the store (older data, before the limit) is
        still shown whole by the tree, and refuses genres deeper under it."""
        async with shop.unit_of_work() as uow:
            parent: int | None = None
            for level in range(1, 1_101):
                parent = (await uow.genres.add(f"Deep {level}", parent)).id
            await uow.commit()
        assert _tree_size(await shop.catalog.genre_tree()) == 1_100
        with pytest.raises(ValidationError) as caught:
            await add_genre(shop, "Deeper", parent=parent)
        _assert_refused(caught.value, "parent_id", "genre_depth")

    # -- read -----------------------------------------------------------------------------

    async def test_get_unknown_genre_is_not_found(self, shop: Shop) -> None:
        """Reading a genre that does not exist is GENRE_NOT_FOUND on ``genre_id``."""
        with pytest.raises(NotFound) as caught:
            await shop.catalog.get_genre(31337)
        assert (caught.value.code, caught.value.field) == ("GENRE_NOT_FOUND", "genre_id")

    async def test_list_genres_of_an_empty_store_is_empty(self, shop: Shop) -> None:
        """A new store has no genres."""
        assert await shop.catalog.list_genres() == []

    async def test_list_genres_is_sorted_by_name_case_insensitively(self, shop: Shop) -> None:
        """Genres list by case-folded name, whatever their creation order or parent."""
        banana = await add_genre(shop, "banana")
        apple = await add_genre(shop, "Apple")
        cherry = await add_genre(shop, "cherry", parent=apple)
        apple_pie = await add_genre(shop, "apple pie", parent=banana)
        assert await shop.catalog.list_genres() == [apple, apple_pie, banana, cherry]

    async def test_genre_tree_nests_sub_genres_sorted_by_name(self, shop: Shop) -> None:
        """The tree has top-level genres as roots and sub-genres nested, siblings by name."""
        science = await add_genre(shop, "Science")
        fiction = await add_genre(shop, "Fiction")
        sf = await add_genre(shop, "Science Fiction", parent=fiction)
        fantasy = await add_genre(shop, "Fantasy", parent=fiction)
        epic = await add_genre(shop, "Epic", parent=fantasy)
        assert await shop.catalog.genre_tree() == (
            GenreNode(
                fiction.id,
                "Fiction",
                None,
                (
                    GenreNode(
                        fantasy.id,
                        "Fantasy",
                        fiction.id,
                        (GenreNode(epic.id, "Epic", fantasy.id, ()),),
                    ),
                    GenreNode(sf.id, "Science Fiction", fiction.id, ()),
                ),
            ),
            GenreNode(science.id, "Science", None, ()),
        )

    # -- delete ---------------------------------------------------------------------------

    async def test_delete_unused_genre(self, shop: Shop, admin: Principal) -> None:
        """A genre without books or sub-genres can be deleted; it is gone afterwards."""
        keep = await add_genre(shop, "Poetry")
        gone = await add_genre(shop, "Horror")
        await shop.catalog.delete_genre(admin, gone.id)
        assert await shop.catalog.list_genres() == [keep]
        with pytest.raises(NotFound):
            await shop.catalog.get_genre(gone.id)

    async def test_delete_genre_used_by_a_book_is_in_use(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A genre a book belongs to cannot be deleted: GENRE_IN_USE; nothing changes."""
        genre = await add_genre(shop, "Fantasy")
        await add_book(shop, "The Hobbit", genre=genre)
        before = await snapshot(shop)
        with pytest.raises(Conflict) as caught:
            await shop.catalog.delete_genre(admin, genre.id)
        assert caught.value.code == "GENRE_IN_USE"
        assert await snapshot(shop) == before

    async def test_delete_genre_with_sub_genres_is_in_use(
        self, shop: Shop, admin: Principal
    ) -> None:
        """A genre with a sub-genre cannot be deleted: GENRE_IN_USE; nothing changes."""
        fiction = await add_genre(shop, "Fiction")
        await add_genre(shop, "Fantasy", parent=fiction)
        before = await snapshot(shop)
        with pytest.raises(Conflict) as caught:
            await shop.catalog.delete_genre(admin, fiction.id)
        assert caught.value.code == "GENRE_IN_USE"
        assert await snapshot(shop) == before

    async def test_genre_can_be_deleted_once_its_last_book_is_gone(
        self, shop: Shop, admin: Principal
    ) -> None:
        """Deleting the last book of a genre makes the genre deletable."""
        genre = await add_genre(shop, "Fantasy")
        book = await add_book(shop, "The Hobbit", genre=genre)
        await shop.catalog.delete_book(admin, book.id)
        await shop.catalog.delete_genre(admin, genre.id)
        assert await shop.catalog.list_genres() == []

    async def test_delete_unknown_genre_is_not_found(self, shop: Shop, admin: Principal) -> None:
        """Deleting a genre that does not exist is GENRE_NOT_FOUND."""
        with pytest.raises(NotFound) as caught:
            await shop.catalog.delete_genre(admin, 31337)
        assert caught.value.code == "GENRE_NOT_FOUND"
