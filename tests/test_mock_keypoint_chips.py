"""The answer review's match chips: each matched word once, with how often it occurred."""

from __future__ import annotations

import re

from app.question_bank import get_bank

BANK = get_bank()


def test_a_word_matched_three_times_shows_one_chip_with_its_count(client):
    created = client.post("/api/mock-sessions", json={"count": 3, "seed": 1})
    assert created.status_code == 201, created.text
    sid, qid = created.json()["id"], created.json()["current"]["question_id"]
    word = BANK[qid].key_points[0].keywords[0][0]
    text = f"{word}。又一次 {word}。还是 {word}。"
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": text})
    assert r.status_code == 200, r.text
    html = client.get(f"/mock/{sid}").text
    item = html.split('data-kp="0"', 1)[1].split("</li>", 1)[0]
    chips = re.search(r'<span class="mock-kp-matches">(.*?)</span>\s*(?:<span class="kp-reason|</div>)', item, re.S)
    assert chips, item
    assert chips.group(1).count("<mark>") == 1, chips.group(1)
    assert f"<mark>{word}</mark>" in chips.group(1) and "×3" in chips.group(1)
