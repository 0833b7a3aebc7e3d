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

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (docs, home, questions, notes, drill, stats, settings, mock, visualize, grading, calculators, codelab)
)
for _router in ROUTERS:
    document_errors(_router.routes)
