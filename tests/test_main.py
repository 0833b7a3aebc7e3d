"""Start-up: the background warm-up of the bundled model."""

from __future__ import annotations

from app import main
from app.services import visualize
from model import checkpoint


def test_warm_up_loads_and_caches_the_shipped_model(monkeypatch):
    monkeypatch.setattr(checkpoint, "_cache", {})
    visualize.clear_caches()
    main.warm_up_model()
    assert len(checkpoint._cache) == 1
    assert visualize.loaded_model() is next(iter(checkpoint._cache.values()))
    misses = visualize.TRACE_CACHE.misses
    for text in visualize.EXAMPLES:  # the sentences the empty page offers are ready
        visualize.build_page(*visualize.parse_state("kv-cache", {"text": [text]}))
    assert visualize.TRACE_CACHE.misses == misses


def test_warm_up_without_weights_returns_quietly(monkeypatch, tmp_path):
    monkeypatch.setattr(checkpoint, "_cache", {})
    monkeypatch.setattr(visualize.runs, "MODEL_PATH", tmp_path / "missing")
    main.warm_up_model()  # no exception: the visualizer page itself explains the missing weights
    assert checkpoint._cache == {}
