"""All routers, collected in one place."""

from fastapi import APIRouter

from app.routes import home, notes, questions

router = APIRouter()
for module in (home, questions, notes):
    router.include_router(module.router)
