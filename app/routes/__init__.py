"""All routers, collected in one place."""

from fastapi import APIRouter

from app.routes import drill, home, mock, notes, questions, settings, stats

router = APIRouter()
for module in (home, questions, notes, drill, stats, settings, mock):
    router.include_router(module.router)
