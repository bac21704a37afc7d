"""Dependencies shared by every domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tidings.context import AppContext


async def get_context(request: Request) -> AppContext:
    """The app's services. ``async`` on purpose: FastAPI runs a plain ``def`` dependency in a
    worker thread, one hand-off per request for nothing."""
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]
