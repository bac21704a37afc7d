"""HTTP routes for accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from tidings.accounts import actions, directory
from tidings.accounts.deps import CurrentUser, SessionUser
from tidings.accounts.schemas import (
    LoginRequest,
    PasswordChange,
    UserCreate,
    UserEnvelope,
    UserMatch,
    UserView,
)
from tidings.config import Settings
from tidings.deps import ContextDep
from tidings.openapi import SIGNED_IN, errors
from tidings.schemas import blank_means

router = APIRouter(tags=["accounts"])


def client_address(request: Request) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For, see ``TRUSTED_PROXIES``)."""
    return request.client.host if request.client else "unknown"


def _set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


@router.post(
    "/api/auth/register", status_code=status.HTTP_201_CREATED, responses=errors(403, 409, 422, 429)
)
async def register(
    data: UserCreate, request: Request, response: Response, ctx: ContextDep
) -> UserEnvelope:
    """Create an account and sign in (limited per client address)."""
    user, token = await actions.register(ctx, data, client_address(request))
    _set_session_cookie(response, ctx.settings, token)
    return UserEnvelope(user=UserView.model_validate(user))


@router.post("/api/auth/login", responses=errors(401, 403, 422, 429))
async def login(
    data: LoginRequest, request: Request, response: Response, ctx: ContextDep
) -> UserEnvelope:
    """Sign in with username and password."""
    user, token = await actions.login(ctx, data.username, data.password, client_address(request))
    _set_session_cookie(response, ctx.settings, token)
    return UserEnvelope(user=UserView.model_validate(user))


@router.post("/api/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=SIGNED_IN)
async def logout(request: Request, user: SessionUser, ctx: ContextDep) -> Response:
    """End this session; its open event streams end too."""
    await actions.logout(ctx, user.id, request.cookies[ctx.settings.session_cookie_name])
    return _signed_out(ctx.settings)


@router.post(
    "/api/auth/logout-everywhere", status_code=status.HTTP_204_NO_CONTENT, responses=SIGNED_IN
)
async def logout_everywhere(user: SessionUser, ctx: ContextDep) -> Response:
    """End every session of yours (this one included) and every open event stream."""
    await actions.logout_everywhere(ctx, user.id)
    return _signed_out(ctx.settings)


def _signed_out(settings: Settings) -> Response:
    # Attachments are cached privately for good: a shared browser must not keep showing
    # this user's files to whoever signs in next.
    response = Response(
        status_code=status.HTTP_204_NO_CONTENT, headers={"Clear-Site-Data": '"cache"'}
    )
    response.delete_cookie(settings.session_cookie_name, path="/")
    return response


@router.get("/api/auth/me", responses=SIGNED_IN)
async def me(user: CurrentUser) -> UserEnvelope:
    """The signed-in user."""
    return UserEnvelope(user=UserView.model_validate(user))


@router.post("/api/auth/password", responses=SIGNED_IN)
async def change_password(
    data: PasswordChange, user: SessionUser, response: Response, ctx: ContextDep
) -> UserEnvelope:
    """Change the password; every other session of the user ends."""
    token = await actions.change_password(ctx, user, data)
    _set_session_cookie(response, ctx.settings, token)
    return UserEnvelope(user=UserView.model_validate(user))


@router.get("/api/users", responses=SIGNED_IN | errors(429))
async def search_users(
    user: CurrentUser,
    ctx: ContextDep,
    q: Annotated[
        str,
        Query(
            max_length=64,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="Part of a username or display name (typos allowed); no control characters",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=50), blank_means(20)] = 20,
) -> list[UserMatch]:
    """People by username and display name: exact, prefix, infix and similar matches, your
    friends first (yourself, deleted accounts and whoever blocked you left out); an empty
    ``q``: your friends, by
    username. How they are found and ranked: ``tidings.accounts.directory``."""
    await ctx.limiter.hit(
        ctx.limiter.limits.user_search, str(user.id), detail="Too many searches. Wait a moment."
    )
    matches = await ctx.db.run_query(directory.search, q, user.id, limit)
    return [
        UserMatch.model_validate(
            {**UserView.model_validate(m.user).model_dump(), "is_friend": m.is_friend}
        )
        for m in matches
    ]
