"""All routers, collected in one place."""

from fastapi import APIRouter

from app.routes import docs, drill, home, mock, notes, questions, settings, stats, visualize

router = APIRouter()
for module in (docs, home, questions, notes, drill, stats, settings, mock, visualize):
    router.include_router(module.router)
