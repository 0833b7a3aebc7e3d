"""All routers, collected in one place."""

from fastapi import APIRouter

from app.routes import drill, home, mock, notes, questions, settings, stats, visualize

router = APIRouter()
for module in (home, questions, notes, drill, stats, settings, mock, visualize):
    router.include_router(module.router)
