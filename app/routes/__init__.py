"""All routers, collected in one place."""

from fastapi import APIRouter

from app.routes import (
    calculators,
    codelab,
    docs,
    drill,
    grading,
    home,
    mock,
    notes,
    questions,
    settings,
    stats,
    visualize,
)
from app.routes.contract import document_errors

router = APIRouter()
for module in (docs, home, questions, notes, drill, stats, settings, mock, visualize, grading, calculators, codelab):
    document_errors(module.router.routes)
    router.include_router(module.router)
