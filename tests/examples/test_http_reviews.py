"""The review routes over HTTP: /books/{id}/reviews, /reviews/{id}, /admin/reviews and
/admin/reviews/bulk, and the rating fields of Book responses.

Wire mapping only (the rules are the reviews contract's): bodies and status codes, one case
per error code, who may call. Purchases go through the real cart and checkout routes' use
cases.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bookshop_adapters.bootstrap import Shop
from bookshop_adapters.testing.builders import add_book
from bookshop_adapters.testing.contract.reviews import buy
from bookshop_adapters.testing.identity import sign_up
from bookshop_core import Principal, Role
from tests.examples.test_http_cart import Headers, assert_refused, bearer

pytestmark = pytest.mark.bookshop_backends("memory", "sqlite")

REVIEW_FIELDS = {
    "id",
    "book_id",
    "user_id",
    "rating",
    "text",
    "verified_purchase",
    "created_at",
    "updated_at",
    "author",
    "book",
}


@pytest.fixture
async def admin(shop: Shop) -> tuple[Principal, Headers]:
    principal, pair = await sign_up(shop, "admin@example.com", role=Role.ADMIN)
    return principal, bearer(pair.access_token)


@pytest.fixture
async def buyer(shop: Shop) -> tuple[Principal, Headers]:
    principal, pair = await sign_up(shop, "buyer@example.com")
    return principal, bearer(pair.access_token)


@pytest.fixture
async def book(
    shop: Shop, admin: tuple[Principal, Headers], buyer: tuple[Principal, Headers]
) -> int:
    """A book the buyer bought (a confirmed order)."""
    dune = await add_book(shop, "Dune", stock=5, by=admin[0])
    await buy(shop, buyer[0], dune)
    return dune.id


async def review(client: httpx.AsyncClient, headers: Headers, book_id: int, **body: Any) -> Any:
    response = await client.post(f"/books/{book_id}/reviews", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_posting_a_review_answers_201_with_the_review(
    client: httpx.AsyncClient, buyer: tuple[Principal, Headers], book: int
) -> None:
    """201 and the Review shape: author without email, book summary, verified purchase."""
    user, headers = buyer
    body = await review(client, headers, book, rating=4, text="Vast")
    assert set(body) == REVIEW_FIELDS
    assert (body["book_id"], body["user_id"], body["rating"], body["text"]) == (
        book,
        user.user_id,
        4,
        "Vast",
    )
    assert body["verified_purchase"] is True
    assert body["author"] == {
        "user_id": user.user_id,
        "display_name": f"Reader #{user.user_id}",
        "avatar_url": None,
    }
    assert body["book"] == {"book_id": book, "title": "Dune", "cover_image_url": None}
    assert body["created_at"].endswith("+00:00")


async def test_book_responses_carry_the_rating(
    client: httpx.AsyncClient, buyer: tuple[Principal, Headers], book: int
) -> None:
    """GET /books/{id} and GET /books show avg_rating (a number, 1 decimal) and
    review_count; sort=avg_rating is accepted."""
    await review(client, buyer[1], book, rating=4)
    detail = (await client.get(f"/books/{book}")).json()
    assert (detail["avg_rating"], detail["review_count"]) == (4.0, 1)
    listed = (await client.get("/books", params={"sort": "avg_rating"})).json()
    assert [(b["id"], b["avg_rating"], b["review_count"]) for b in listed["items"]] == [
        (book, 4.0, 1)
    ]


async def test_posting_refusals_map_to_their_codes(
    client: httpx.AsyncClient,
    shop: Shop,
    admin: tuple[Principal, Headers],
    buyer: tuple[Principal, Headers],
    book: int,
) -> None:
    """401 without a token; 404 BOOK_NOT_FOUND; 403 NOT_PURCHASED field=book_id; 409
    DUPLICATE_REVIEW with existing_review_id; 422 for a rating out of range."""
    headers = buyer[1]
    response = await client.post(f"/books/{book}/reviews", json={"rating": 4})
    assert response.status_code == 401
    response = await client.post("/books/999999/reviews", json={"rating": 4}, headers=headers)
    assert_refused(response, 404, "BOOK_NOT_FOUND")
    other = await add_book(shop, "Emma", by=admin[0])
    response = await client.post(f"/books/{other.id}/reviews", json={"rating": 4}, headers=headers)
    assert_refused(response, 403, "NOT_PURCHASED")
    assert response.json()["field"] == "book_id"
    first = await review(client, headers, book, rating=4)
    response = await client.post(f"/books/{book}/reviews", json={"rating": 5}, headers=headers)
    assert_refused(response, 409, "DUPLICATE_REVIEW")
    assert response.json()["existing_review_id"] == first["id"]
    for bad in ({"rating": 6}, {"rating": "x"}, {}, {"rating": 3, "text": "x" * 2001}):
        response = await client.post(f"/books/{book}/reviews", json=bad, headers=headers)
        assert_refused(response, 422, "VALIDATION_ERROR")
        assert response.json()["detail"][0]["loc"][0] == "body"


async def test_a_books_reviews_are_a_public_page(
    client: httpx.AsyncClient, buyer: tuple[Principal, Headers], book: int
) -> None:
    """GET /books/{id}/reviews needs no token: {items, total, page, size}; a bad size is
    422; an unknown book has an empty page."""
    made = await review(client, buyer[1], book, rating=5)
    body = (await client.get(f"/books/{book}/reviews", params={"size": 5})).json()
    assert (body["items"], body["total"], body["page"], body["size"]) == ([made], 1, 1, 5)
    response = await client.get(f"/books/{book}/reviews", params={"size": 101})
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert (await client.get("/books/999999/reviews")).json()["total"] == 0


async def test_get_patch_and_delete_a_review(
    client: httpx.AsyncClient, buyer: tuple[Principal, Headers], book: int
) -> None:
    """GET /reviews/{id}; PATCH changes the given fields (text null clears); DELETE is 204;
    then the review is 404 REVIEW_NOT_FOUND."""
    headers = buyer[1]
    made = await review(client, headers, book, rating=2, text="Meh")
    assert (await client.get(f"/reviews/{made['id']}")).json() == made
    response = await client.patch(f"/reviews/{made['id']}", json={"rating": 5}, headers=headers)
    assert response.status_code == 200, response.text
    assert (response.json()["rating"], response.json()["text"]) == (5, "Meh")
    response = await client.patch(f"/reviews/{made['id']}", json={"text": None}, headers=headers)
    assert (response.json()["rating"], response.json()["text"]) == (5, None)
    response = await client.patch(f"/reviews/{made['id']}", json={"rating": 0}, headers=headers)
    assert_refused(response, 422, "VALIDATION_ERROR")
    response = await client.delete(f"/reviews/{made['id']}", headers=headers)
    assert (response.status_code, response.content) == (204, b"")
    assert_refused(await client.get(f"/reviews/{made['id']}"), 404, "REVIEW_NOT_FOUND")


async def test_only_the_author_changes_a_review_and_admins_delete_it(
    client: httpx.AsyncClient,
    shop: Shop,
    admin: tuple[Principal, Headers],
    buyer: tuple[Principal, Headers],
    book: int,
) -> None:
    """Another user's PATCH and DELETE are 403 NOT_REVIEW_OWNER; an admin's DELETE is 204."""
    made = await review(client, buyer[1], book, rating=3)
    _, pair = await sign_up(shop, "other@example.com")
    other = bearer(pair.access_token)
    response = await client.patch(f"/reviews/{made['id']}", json={"rating": 1}, headers=other)
    assert_refused(response, 403, "NOT_REVIEW_OWNER")
    response = await client.delete(f"/reviews/{made['id']}", headers=other)
    assert_refused(response, 403, "NOT_REVIEW_OWNER")
    response = await client.delete(f"/reviews/{made['id']}", headers=admin[1])
    assert response.status_code == 204


async def test_admins_moderate_with_filters_and_the_admin_envelope(
    client: httpx.AsyncClient,
    admin: tuple[Principal, Headers],
    buyer: tuple[Principal, Headers],
    book: int,
) -> None:
    """GET /admin/reviews: admin envelope, items with author {user_id, display_name} and
    book {book_id, title}; filters; 422 for rating_min above rating_max; 403 for users."""
    user, headers = buyer
    made = await review(client, headers, book, rating=4, text="Good")
    response = await client.get(
        "/admin/reviews",
        params={"book_id": book, "rating_min": 3, "sort_by": "rating", "sort_dir": "asc"},
        headers=admin[1],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total_count"], body["page"], body["per_page"], body["total_pages"]) == (
        1,
        1,
        20,
        1,
    )
    assert body["items"] == [
        {
            "id": made["id"],
            "rating": 4,
            "text": "Good",
            "created_at": made["created_at"],
            "updated_at": made["updated_at"],
            "author": {"user_id": user.user_id, "display_name": f"Reader #{user.user_id}"},
            "book": {"book_id": book, "title": "Dune"},
        }
    ]
    response = await client.get(
        "/admin/reviews", params={"rating_min": 5, "rating_max": 2}, headers=admin[1]
    )
    assert_refused(response, 422, "VALIDATION_ERROR")
    response = await client.get("/admin/reviews", params={"sort_by": "stars"}, headers=admin[1])
    assert_refused(response, 422, "VALIDATION_ERROR")
    assert_refused(await client.get("/admin/reviews", headers=headers), 403, "AUTH_FORBIDDEN")


async def test_admins_delete_reviews_in_bulk(
    client: httpx.AsyncClient,
    admin: tuple[Principal, Headers],
    buyer: tuple[Principal, Headers],
    book: int,
) -> None:
    """DELETE /admin/reviews/bulk answers {deleted_count} (missing ids skipped); an empty,
    oversized or malformed list is 422."""
    made = await review(client, buyer[1], book, rating=4)
    response = await client.request(
        "DELETE", "/admin/reviews/bulk", json={"review_ids": [made["id"], 999]}, headers=admin[1]
    )
    assert (response.status_code, response.json()) == (200, {"deleted_count": 1})
    for bad in ({"review_ids": []}, {"review_ids": list(range(1, 52))}, {"review_ids": "12"}, {}):
        response = await client.request("DELETE", "/admin/reviews/bulk", json=bad, headers=admin[1])
        assert_refused(response, 422, "VALIDATION_ERROR")
    response = await client.request(
        "DELETE", "/admin/reviews/bulk", json={"review_ids": [1]}, headers=buyer[1]
    )
    assert_refused(response, 403, "AUTH_FORBIDDEN")


async def test_display_names_come_from_the_profile(
    client: httpx.AsyncClient, shop: Shop, admin: tuple[Principal, Headers]
) -> None:
    """A display_name given at registration, or set by PATCH /users/me/profile, is the
    review author's name and shows in GET /users/me/profile."""
    response = await client.post(
        "/auth/register",
        json={"email": "ann@example.com", "password": "correct horse 42", "display_name": "Ann"},
    )
    assert response.status_code == 201, response.text
    headers = bearer(response.json()["access_token"])
    me = (await client.get("/users/me", headers=headers)).json()
    profile = await client.get("/users/me/profile", headers=headers)
    assert profile.json() == {"display_name": "Ann"}
    dune = await add_book(shop, "Dune", stock=5, by=admin[0])
    await buy(shop, Principal(user_id=me["id"]), dune)
    made = await review(client, headers, dune.id, rating=5)
    assert made["author"]["display_name"] == "Ann"
    response = await client.patch(
        "/users/me/profile", json={"display_name": " Ann B. "}, headers=headers
    )
    assert (response.status_code, response.json()["display_name"]) == (200, "Ann B."), response.text
    shown = (await client.get(f"/reviews/{made['id']}")).json()
    assert shown["author"]["display_name"] == "Ann B."
    response = await client.patch("/users/me/profile", json={"display_name": None}, headers=headers)
    assert response.json()["display_name"] == f"Reader #{me['id']}"
    response = await client.patch(
        "/users/me/profile", json={"display_name": "x" * 101}, headers=headers
    )
    assert_refused(response, 422, "VALIDATION_ERROR")
