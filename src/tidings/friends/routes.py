"""HTTP routes for friends."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from tidings import plain_routes  # noqa: F401  (registers the {name:db_id} path convertor)
from tidings.accounts.deps import CurrentUser
from tidings.accounts.schemas import UserView
from tidings.deps import ContextDep
from tidings.friends import actions, views
from tidings.friends.schemas import FriendRequestCreate, FriendRequestEnvelope, FriendRequestLists
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import MAX_ID

router = APIRouter(tags=["friends"])
RequestId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/api/friends/request",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": FriendRequestEnvelope, "description": "They had asked you: accepted"}}
    | SIGNED_IN
    | errors(404, 409, 429),
)
async def send_request(
    data: FriendRequestCreate, user: CurrentUser, ctx: ContextDep, response: Response
) -> FriendRequestEnvelope:
    """Send a friend request (201), or accept theirs if they already asked you (200)."""
    request, created = await actions.send_request(ctx, user, data.username)
    if not created:
        response.status_code = status.HTTP_200_OK
    return FriendRequestEnvelope(request=request)


@router.get("/api/friends/requests", responses=SIGNED_IN)
async def list_requests(user: CurrentUser, ctx: ContextDep) -> FriendRequestLists:
    """Pending requests to and from you."""
    return await ctx.db.run_query(views.pending_requests, user.id)


@router.post("/api/friends/requests/{request_id}/accept", responses=SIGNED_IN | errors(404, 409))
async def accept(
    request_id: RequestId, user: CurrentUser, ctx: ContextDep
) -> FriendRequestEnvelope:
    """Accept a request addressed to you."""
    return FriendRequestEnvelope(request=await actions.accept_request(ctx, user, request_id))


@router.post("/api/friends/requests/{request_id}/decline", responses=SIGNED_IN | errors(404, 409))
async def decline(
    request_id: RequestId, user: CurrentUser, ctx: ContextDep
) -> FriendRequestEnvelope:
    """Decline a request addressed to you."""
    return FriendRequestEnvelope(request=await actions.decline_request(ctx, user, request_id))


@router.post("/api/friends/requests/{request_id}/cancel", responses=SIGNED_IN | errors(404, 409))
async def cancel(
    request_id: RequestId, user: CurrentUser, ctx: ContextDep
) -> FriendRequestEnvelope:
    """Withdraw a request you sent."""
    return FriendRequestEnvelope(request=await actions.cancel_request(ctx, user, request_id))


@router.get("/api/friends", responses=SIGNED_IN)
async def list_friends(user: CurrentUser, ctx: ContextDep) -> list[UserView]:
    """Your friends, by username."""
    return await ctx.db.run_query(views.list_friends, user.id)


# ``db_id``: only digits match, so that ``/api/friends/request`` and ``/requests`` are not taken
# for a user id (a DELETE there answered 422 "not an integer" instead of 405).
@router.delete(
    "/api/friends/{user_id:db_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=SIGNED_IN | errors(404),
)
async def remove_friend(user_id: RequestId, user: CurrentUser, ctx: ContextDep) -> Response:
    """Stop being friends with ``user_id``."""
    await actions.remove_friend(ctx, user, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
