"""Calculators: the page /calculators (KV-cache size and training memory) and the JSON API /api/calculators/*.

The page and the API validate with the same query models and call the same pure functions in
app/calculators/. `/calculators/kv-cache` and `/calculators/training-memory` serve the full page with that
form filled in, or, for htmx, only the form's result fragment, so every state is a shareable GET link that
also works without JavaScript.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from app import calculators as calc
from app.question_bank import get_bank
from app.routes.contract import explained
from app.templating import is_htmx, templates

router = APIRouter(tags=["calculators"])


def _count(name: str, description: str, *, example: int | None = None) -> Any:
    """An integer input with its bounds in the schema and the calculator's own wording when refused."""
    low, high = calc.BOUNDS[name]
    extra = {"examples": [example]} if example is not None else {}
    return Annotated[
        int,
        Field(ge=low, le=high, description=f"{description} ({low}–{high})", **extra),
        explained(partial(calc.check_count, name)),
    ]


Layers = _count("layers", "层数 num_hidden_layers", example=32)
QueryHeads = _count("query_heads", "查询头数 num_attention_heads（用于 MHA/GQA/MQA 对比表）", example=32)
KVHeads = _count("kv_heads", "KV 头数 num_key_value_heads（= 查询头数为 MHA，1 为 MQA）", example=8)
HeadDim = _count("head_dim", "每头维度 head_dim", example=128)
SeqLen = _count("seq_len", "序列长度（token 数）", example=4096)
Batch = _count("batch", "同时缓存的序列数", example=1)
LatentDim = _count("latent_dim", "MLA 压缩潜变量维度 kv_lora_rank（给出即按 MLA 计算）", example=512)
RopeDim = _count("rope_dim", "MLA 解耦 RoPE 键维度 qk_rope_head_dim", example=64)
BytesPerValue = Annotated[
    float,
    Field(
        description="每个缓存值的字节数：4 fp32、2 bf16/fp16、1 fp8/int8、0.5 int4",
        json_schema_extra={"enum": list(calc.BITS_BY_BYTES)},
    ),
    AfterValidator(calc.check_bytes_per_value),
    explained(calc.check_bytes_per_value),
]
PresetSlug = Annotated[
    str,
    Field(
        max_length=40,
        description="公开模型配置，填入形状参数；显式给出的参数优先",
        json_schema_extra={"enum": list(calc.PRESETS)},
    ),
]


def _unknown_preset(slug: str) -> str:
    return f"未知预设 (unknown preset {slug[:40]!r}; expected {', '.join(calc.PRESETS)})"


class KVCacheQuery(BaseModel):
    """Query of GET /api/calculators/kv-cache: the shape comes from the fields, or from `preset` for those not given."""

    model_config = ConfigDict(extra="forbid")

    preset: PresetSlug | None = None
    layers: Layers | None = None
    query_heads: QueryHeads | None = None
    kv_heads: KVHeads | None = None
    head_dim: HeadDim | None = None
    latent_dim: LatentDim | None = None
    rope_dim: RopeDim | None = None
    seq_len: SeqLen = 4096
    batch: Batch = 1
    bytes_per_value: BytesPerValue = 2.0

    @model_validator(mode="after")
    def _fill_from_preset(self) -> KVCacheQuery:
        if self.preset is not None:
            preset = calc.PRESETS.get(self.preset)
            if preset is None:
                raise ValueError(_unknown_preset(self.preset))
            for name in ("layers", "query_heads", "kv_heads", "head_dim", "latent_dim", "rope_dim"):
                if getattr(self, name) is None:
                    setattr(self, name, getattr(preset, name))
        missing = [name for name in ("layers", "kv_heads", "head_dim") if getattr(self, name) is None]
        if missing:
            raise ValueError(
                f"缺少 {', '.join(missing)}（或给出 preset） (missing {', '.join(missing)}: give them or a preset)"
            )
        return self

    def compute(self) -> calc.KVCacheResult:
        assert self.layers is not None and self.kv_heads is not None and self.head_dim is not None
        return calc.kv_cache(
            layers=self.layers,
            kv_heads=self.kv_heads,
            head_dim=self.head_dim,
            seq_len=self.seq_len,
            batch=self.batch,
            bytes_per_value=self.bytes_per_value,
            query_heads=self.query_heads,
            latent_dim=self.latent_dim,
            rope_dim=self.rope_dim or 0,
        )


ACTIVATION_FIELDS = ("layers", "hidden", "seq_len", "micro_batch", "heads")


class TrainingMemoryQuery(BaseModel):
    """Query of GET /api/calculators/training-memory. Activations are counted when any of the five shape fields
    is given; then all five must be known (layers, hidden and heads may come from `preset`)."""

    model_config = ConfigDict(extra="forbid")

    preset: PresetSlug | None = None
    params: Annotated[
        int | None,
        Field(
            ge=1,
            le=calc.MAX_PARAMS,
            description=f"参数量（个数，1–{calc.MAX_PARAMS}）；或由 preset 给出",
            examples=[7_000_000_000],
        ),
        explained(partial(calc.check_count, "params")),
        BeforeValidator(calc.parse_count),  # also "7e9", "7B", "1.5T"
    ] = None
    precision: calc.Precision = calc.Precision.BF16_MIXED
    optimizer: calc.Optimizer = calc.Optimizer.ADAMW
    zero_stage: _count("zero_stage", "ZeRO 阶段：0 普通 DDP，1 切分优化器状态，2 再切分梯度，3 再切分权重") = 0  # type: ignore[valid-type]
    devices: _count("devices", "数据并行设备数") = 1  # type: ignore[valid-type]
    activation_checkpointing: bool = Field(default=False, description="全量激活重算（每层只存输入）")
    layers: Layers | None = None
    hidden: _count("hidden", "隐藏维度 hidden_size", example=4096) | None = None  # type: ignore[valid-type]
    heads: _count("heads", "注意力头数", example=32) | None = None  # type: ignore[valid-type]
    seq_len: SeqLen | None = None
    micro_batch: _count("micro_batch", "每设备微批大小", example=1) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _fill_from_preset(self) -> TrainingMemoryQuery:
        given = [name for name in ACTIVATION_FIELDS if getattr(self, name) is not None]
        if self.preset is not None:
            preset = calc.PRESETS.get(self.preset)
            if preset is None or preset.params is None:
                with_params = [p.slug for p in calc.PRESETS.values() if p.params is not None]
                raise ValueError(
                    f"这个预设没有参数量 (preset {self.preset[:40]!r} has no parameter count; "
                    f"expected {', '.join(with_params)})"
                )
            self.params = self.params or preset.params
            self.layers = self.layers or preset.layers
            self.hidden = self.hidden or preset.hidden
            self.heads = self.heads or preset.query_heads
        if self.params is None:
            raise ValueError("缺少 params（或给出 preset） (missing params: give it or a preset)")
        missing = [name for name in ACTIVATION_FIELDS if getattr(self, name) is None]
        if given and missing:
            raise ValueError(
                f"激活估算需要全部五项形状参数，缺少 {', '.join(missing)} "
                f"(activations need all of {', '.join(ACTIVATION_FIELDS)}; missing {', '.join(missing)})"
            )
        return self

    def shape(self) -> calc.ActivationShape | None:
        if any(getattr(self, name) is None for name in ACTIVATION_FIELDS):
            return None
        return calc.ActivationShape(
            layers=self.layers,  # type: ignore[arg-type]
            hidden=self.hidden,  # type: ignore[arg-type]
            seq_len=self.seq_len,  # type: ignore[arg-type]
            micro_batch=self.micro_batch,  # type: ignore[arg-type]
            heads=self.heads,  # type: ignore[arg-type]
        )

    def compute(self) -> calc.TrainingMemoryResult:
        assert self.params is not None
        return calc.training_memory(
            params=self.params,
            precision=self.precision,
            optimizer=self.optimizer,
            zero_stage=self.zero_stage,
            devices=self.devices,
            activation_checkpointing=self.activation_checkpointing,
            activations=self.shape(),
        )


# ------------------------------------------------------------------------------------------------- JSON API


class HumanSize(BaseModel):
    binary: str = Field(description="1024 进制：KiB, MiB, GiB …", examples=["2.00 GiB"])
    decimal: str = Field(description="1000 进制：KB, MB, GB …", examples=["2.15 GB"])


class ComparisonOut(BaseModel):
    attention: Literal["MHA", "GQA", "MQA", "MLA"]
    label: str
    kv_heads: int | None = Field(description="None for MLA (one latent shared by all heads)")
    values_per_token: int = Field(description="cached numbers per token over all layers")
    bytes_per_token: int
    bytes: int
    ratio_to_mha: float
    formula: str


class KVCacheOut(BaseModel):
    query: dict[str, Any] = Field(description="the inputs used, with a preset's values filled in")
    attention: Literal["MHA", "GQA", "MQA", "MLA"]
    bytes: int = Field(description="the whole cache: all layers, seq_len tokens, batch sequences")
    bytes_per_token: int = Field(description="one token of one sequence, all layers")
    values_per_token_per_layer: int
    breakdown: dict[str, int] = Field(description="bytes of keys/values (MHA/GQA/MQA) or latent/rope_key (MLA)")
    symbolic: str
    formula: str = Field(description="the formula with the numbers put in")
    formula_latex: str
    human: HumanSize
    human_per_token: HumanSize
    comparison: list[ComparisonOut] = Field(
        description="MHA/GQA/MQA(/MLA) for the same shape; empty without query_heads"
    )


class TrainingBreakdown(BaseModel):
    weights: int
    gradients: int
    optimizer_states: int
    master_weights: int
    activations: int


class TrainingMemoryOut(BaseModel):
    query: dict[str, Any] = Field(description="the inputs used, with a preset's values filled in")
    bytes: int = Field(description="per data-parallel device")
    breakdown: TrainingBreakdown = Field(description="bytes per device")
    bytes_per_param: dict[str, int] = Field(description="before sharding")
    sharded_over: dict[str, int] = Field(description="devices sharing each part (ZeRO)")
    states_bytes: int = Field(description="everything but activations, per device")
    states_bytes_unsharded: int
    activation_bytes_per_layer: int
    recompute_peak_extra: int = Field(description="one layer rebuilt during backward; not in `bytes`")
    formula: str = Field(description="the formula with the numbers put in")
    formula_latex: str
    activation_formula: str
    human: HumanSize
    human_breakdown: dict[str, HumanSize]
    notes: list[str] = Field(description="what the estimate leaves out (Chinese first)")


@router.get("/api/calculators/kv-cache", response_model=KVCacheOut)
def api_kv_cache(query: Annotated[KVCacheQuery, Query()]) -> dict:
    """KV-cache bytes (`bytes`, `bytes_per_token`), breakdown, the formula with the numbers (`formula`,
    `formula_latex`) and, with `query_heads`, the MHA/GQA/MQA(/MLA) comparison."""
    try:
        return {"query": query.model_dump(mode="json"), **query.compute().to_dict()}
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None


@router.get("/api/calculators/training-memory", response_model=TrainingMemoryOut)
def api_training_memory(query: Annotated[TrainingMemoryQuery, Query()]) -> dict:
    """Training memory per data-parallel device (`bytes`) with `breakdown` {weights, gradients, optimizer_states,
    master_weights, activations}, the formula with the numbers, and notes on what the estimate leaves out."""
    try:
        return {"query": query.model_dump(mode="json"), **query.compute().to_dict()}
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None


# ---------------------------------------------------------------------------------------------------- page

KV_PAGE_DEFAULTS: dict[str, Any] = {
    "layers": 32,
    "query_heads": 32,
    "kv_heads": 8,
    "head_dim": 128,
    "seq_len": 4096,
    "batch": 1,
    "bytes_per_value": 2.0,
}
TRAINING_PAGE_DEFAULTS: dict[str, Any] = {
    "params": 7_000_000_000,
    "precision": "bf16-mixed",
    "optimizer": "adamw",
    "zero_stage": 0,
    "devices": 1,
    "activation_checkpointing": True,
    "layers": 32,
    "hidden": 4096,
    "heads": 32,
    "seq_len": 4096,
    "micro_batch": 1,
}
PRESET_FIELDS = {
    "kv-cache": ("layers", "query_heads", "kv_heads", "head_dim", "latent_dim", "rope_dim"),
    "training-memory": ("params", "layers", "hidden", "heads"),
}


def _messages(exc: ValidationError) -> list[str]:
    return [str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()]


def _form_values(request: Request, model: type[BaseModel], calculator: str) -> tuple[dict[str, Any], bool]:
    """The form's fields from the query (blank ones dropped; a preset button replaces the shape fields), and
    whether a preset was applied (the form's fields are then refreshed too)."""
    values = {
        key: request.query_params[key][:60]
        for key in model.model_fields
        if key in request.query_params and request.query_params[key].strip() != ""
    }
    preset = values.get("preset")
    if preset is not None:
        for name in PRESET_FIELDS[calculator]:
            values.pop(name, None)
    if calculator == "training-memory" and "params" in request.query_params:
        # the checkbox sends nothing when unticked: a submitted form (it always has params) means "off"
        values.setdefault("activation_checkpointing", "false")
    return values, preset is not None


def _evaluate(model: type[KVCacheQuery] | type[TrainingMemoryQuery], values: dict[str, Any]) -> dict[str, Any]:
    """Validate and compute; the form state to show (with the preset's values filled in) and the result or errors."""
    try:
        query = model.model_validate(values)
    except ValidationError as exc:
        return {"values": values, "result": None, "errors": _messages(exc)}
    try:
        result = query.compute()
    except ValueError as exc:
        return {"values": values, "result": None, "errors": [str(exc)]}
    shown = {key: value for key, value in query.model_dump(mode="json").items() if value is not None}
    shown.pop("preset", None)
    return {"values": shown, "result": result, "errors": []}


def _related(calculator: str) -> list[tuple[str, str]]:
    bank = get_bank()
    return [(qid, bank[qid].question.zh) for qid in calc.CALCULATOR_QUESTIONS[calculator] if qid in bank]


def _page_url(calculator: str, values: dict[str, Any]) -> str:
    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return f"{value:g}" if isinstance(value, float) else str(value)

    shown = {key: text(value) for key, value in values.items() if value is not None}
    return f"/calculators/{calculator}?{urlencode(shown)}"


def _render(request: Request, calculator: str | None) -> HTMLResponse:
    kv_values, kv_preset = (
        _form_values(request, KVCacheQuery, "kv-cache") if calculator == "kv-cache" else (KV_PAGE_DEFAULTS, False)
    )
    tm_values, tm_preset = (
        _form_values(request, TrainingMemoryQuery, "training-memory")
        if calculator == "training-memory"
        else (TRAINING_PAGE_DEFAULTS, False)
    )
    kv = _evaluate(KVCacheQuery, kv_values)
    tm = _evaluate(TrainingMemoryQuery, tm_values)
    active = kv if calculator == "kv-cache" else tm
    context = {
        "kv": kv,
        "tm": tm,
        "presets": list(calc.PRESETS.values()),
        "value_sizes": calc.VALUE_SIZE_LABELS,
        "precisions": calc.PRECISION_LABELS,
        "optimizers": calc.OPTIMIZER_LABELS,
        "zero_labels": calc.ZERO_LABELS,
        "breakdown_labels": calc.BREAKDOWN_LABELS,
        "related": {name: _related(name) for name in calc.CALCULATOR_QUESTIONS},
        "bounds": calc.BOUNDS,
        "human_bytes": calc.human_bytes,
        # only a fragment needs the fields sent apart: the full page renders them in its form
        "oob_fields": (kv_preset or tm_preset) and is_htmx(request),
    }
    status = 422 if calculator is not None and active["errors"] else 200
    if calculator is not None and is_htmx(request):
        template = (
            "partials/calculator_kv_result.html" if calculator == "kv-cache" else "partials/calculator_tm_result.html"
        )
        response = templates.TemplateResponse(request, template, context, status_code=status)
        if not active["errors"]:
            response.headers["HX-Replace-Url"] = _page_url(calculator, active["values"])
        return response
    return templates.TemplateResponse(request, "calculators.html", context, status_code=status)


@router.get("/calculators", response_class=HTMLResponse, include_in_schema=False)
def calculators_page(request: Request) -> HTMLResponse:
    return _render(request, None)


@router.get("/calculators/{calculator}", response_class=HTMLResponse, include_in_schema=False)
def calculator_page(request: Request, calculator: str) -> HTMLResponse:
    if calculator not in calc.CALCULATOR_QUESTIONS:
        raise HTTPException(404, detail="Calculator not found")
    return _render(request, calculator)
