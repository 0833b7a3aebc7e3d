"""OpenAPI docs at /docs, served from the vendored Swagger UI so they work offline (FastAPI's default loads a CDN).

The page runs under the site's Content-Security-Policy: its start-up script is static/js/swagger-init.js
(FastAPI's page starts Swagger with an inline script, which `script-src 'self'` forbids). "Try it out"
writes carry the CSRF header, so bodiless POSTs such as /api/drill/undo work from here too.
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from app.csrf import form_token

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor/swagger-ui"

PAGE = Markup("""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{token}">
<title>{title}</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{vendor}/swagger-ui.css">
<script src="{vendor}/swagger-ui-bundle.js" defer></script>
<script src="/static/js/swagger-init.js" defer></script>
</head>
<body>
<nav class="docs-back" aria-label="返回应用" style="font: 14px/1.5 system-ui, 'Noto Sans CJK SC', sans-serif;
 margin: -8px -8px 0; padding: 8px 20px; border-bottom: 1px solid #e3e0d8;
 display: flex; flex-wrap: wrap; gap: 4px 16px;
 background: #fbfaf7">
<a href="/" style="color: #2f5bd3; font-weight: 700; text-decoration: none">← transformer-prep 返回应用</a>
<a href="/drill" style="color: #2f5bd3">闪卡</a><a href="/mock" style="color: #2f5bd3">模拟面试</a>
<a href="/questions" style="color: #2f5bd3">题库</a>
</nav>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
</body>
</html>
""")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    html = PAGE.format(
        token=form_token(),
        title=f"{request.app.title} · API",
        vendor=VENDOR,
        openapi_url=request.app.openapi_url,
    )
    return HTMLResponse(str(html))
