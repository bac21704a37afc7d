"""Routes for operators: liveness with database reachability, and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from tidings.deps import ContextDep

router = APIRouter(tags=["operations"])


@router.get("/api/health")
async def health(ctx: ContextDep) -> JSONResponse:
    """Liveness and database reachability."""
    try:
        async with ctx.db.query_session() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok", "streams": ctx.hub.subscriber_count()})


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(ctx: ContextDep) -> Response:
    """This process's metrics in Prometheus' text format."""
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
