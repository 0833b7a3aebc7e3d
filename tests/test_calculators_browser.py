"""The calculators in Chromium: typing updates the result live, a preset button fills the fields, KaTeX typesets
the formula, and the form still works with JavaScript off."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot

pytestmark = pytest.mark.browser


def test_typing_and_presets_update_the_kv_cache_live(live_server, page) -> None:
    page.goto(live_server.url + "/calculators")
    expect(page.locator("#kv-total")).to_have_text("512 MiB")  # 2 · 32 · 8 · 128 · 4096 · 2
    expect(page.locator("#kv-result .katex").first).to_be_visible()

    with page.expect_response(lambda r: "/calculators/kv-cache?" in r.url):
        page.fill("#kv-kv_heads", "32")
    expect(page.locator("#kv-total")).to_have_text("2.00 GiB")
    expect(page.locator("#kv-per-token")).to_have_text("524,288 字节")
    assert "kv_heads=32" in page.url  # the state is a permalink

    with page.expect_response(lambda r: "preset=deepseek-v3" in r.url):
        page.click("#kv-preset-deepseek-v3")
    expect(page.locator("#kv-layers")).to_have_value("61")
    expect(page.locator("#kv-latent_dim")).to_have_value("512")
    expect(page.locator("#kv-formula")).to_contain_text("61 · (512 + 64) · 4 096 · 1 · 2 B = 287 834 112 B")
    expect(page.locator("#kv-comparison tr.current th")).to_have_text("MLA 潜在")

    # Typing after a preset sends the typed value, not the preset again.
    with page.expect_response(lambda r: "/calculators/kv-cache?" in r.url and "preset" not in r.url):
        page.fill("#kv-seq_len", "1")
    expect(page.locator("#kv-total")).to_have_text("68.6 KiB")  # 61 · 576 · 2 = 70 272 bytes
    expect(page.locator("#kv-layers")).to_have_value("61")

    with page.expect_response(lambda r: r.status == 422):
        page.fill("#kv-layers", "5000")
    expect(page.locator("#kv-result [role=alert]")).to_contain_text("layers must be between 1 and 1000, got 5000")
    screenshot(page, "calculators-kv-error")


def test_training_memory_zero_3_and_recomputation(live_server, page) -> None:
    page.goto(live_server.url + "/calculators#training-memory")
    with page.expect_response(lambda r: "/calculators/training-memory?" in r.url):
        page.select_option("#tm-zero_stage", "3")
    with page.expect_response(lambda r: "devices=8" in r.url):
        page.fill("#tm-devices", "8")
    # 7e9 × 16 / 8 = 14 GB of states; full recomputation: 32 · 2 · 4096 · 1 · 4096 = 1 073 741 824 of activations
    expect(page.locator("#tm-states")).to_have_text("14.0 GB")
    expect(page.locator("#tm-total")).to_have_text("15.1 GB")
    with page.expect_response(
        lambda r: "/calculators/training-memory?" in r.url and "activation_checkpointing" not in r.url
    ):
        page.uncheck("#tm-activation_checkpointing")
    # Korthikanti without recomputation: 32 · 4096 · 4096 · (34 + 5 · 32) = 104 152 956 928
    expect(page.locator("#tm-activations")).to_have_text("104 GB")
    with page.expect_response(lambda r: "preset=llama-3-8b" in r.url):
        page.click("#tm-preset-llama-3-8b")
    expect(page.locator("#tm-params")).to_have_value("8030261248")
    expect(page.locator("#tm-result .katex").first).to_be_visible()
    screenshot(page, "calculators-training")


def test_the_form_works_without_javascript(live_server, browser) -> None:
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/calculators")
        page.fill("#kv-seq_len", "8192")
        page.press("#kv-seq_len", "Enter")  # the hidden default button, not the first preset, submits
        page.wait_for_url("**/calculators/kv-cache?**seq_len=8192**")
        assert "preset" not in page.url
        expect(page.locator("#kv-total")).to_have_text("1.00 GiB")
        page.fill("#kv-batch", "2")
        page.click("#kv-form .calc-actions button")
        page.wait_for_url("**batch=2**")
        expect(page.locator("#kv-total")).to_have_text("2.00 GiB")
        page.fill("#kv-batch", "1")
        page.click("#kv-preset-llama-2-7b")
        expect(page.locator("#kv-kv_heads")).to_have_value("32")
        expect(page.locator("#kv-total")).to_have_text("4.00 GiB")  # 524 288 bytes per token × 8192
    finally:
        context.close()


def test_the_page_runs_under_the_content_security_policy(live_server, browser) -> None:
    context = browser.new_context()  # no bypass_csp: the page's own policy applies
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: refused.append(str(exc)))
    try:
        response = page.goto(live_server.url + "/calculators")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        with page.expect_response(lambda r: "/calculators/training-memory?" in r.url):
            page.fill("#tm-params", "70B")
        expect(page.locator("#tm-states")).to_have_text("1.12 TB")  # 70e9 × 16 bytes
        expect(page.locator("#tm-result .katex").first).to_be_visible()
        assert refused == []
    finally:
        context.close()
