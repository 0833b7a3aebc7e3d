"""Study notes: heading anchors and the table of contents (app.services.notes), and the note page."""

from __future__ import annotations

import re

from app.services.notes import TOC_MIN_HEADINGS, heading_slug, render_note

LONG = "# 标题\n\n" + "".join(f"## 第 {i} 节\n\n正文 {i}\n\n" for i in range(1, TOC_MIN_HEADINGS + 1))


def test_slugs_keep_chinese_and_drop_punctuation():
    assert heading_slug("直觉：一次“软”查字典") == "直觉一次软查字典"
    assert heading_slug("手写实现（掩码约定：True = 可以关注）") == "手写实现掩码约定true-可以关注"
    assert heading_slug("为什么除以 ") == "为什么除以"  # the plugin passes the text without its math
    assert heading_slug("：？") == "section"


def test_long_note_gets_a_toc_with_anchors_that_exist():
    note = render_note(LONG + "### 细节\n\n更多\n\n## 第 1 节\n\n重复的标题\n")
    anchors = [e.anchor for e in note.toc]
    assert anchors == ["第-1-节", "第-2-节", "第-3-节", "第-4-节", "细节", "第-1-节-1"]
    assert [e.level for e in note.toc] == [2, 2, 2, 2, 3, 2]
    for anchor in anchors:
        assert f'id="{anchor}"' in note.html
        assert f'<a class="header-anchor" href="#{anchor}">#</a>' in note.html
    assert 'id="标题"' not in note.html  # the page title (#) is not a section


def test_short_note_has_no_toc_but_keeps_its_anchors():
    note = render_note("## 一\n\n## 二\n")
    assert note.toc == () and not note.has_toc
    assert 'id="一"' in note.html


def test_headings_with_math_and_markup_are_rendered_and_escaped():
    note = render_note(LONG + "## 为什么除以 $\\sqrt{d_k}$\n\n## <script>alert(1)</script> `code`\n")
    titles = [str(e.title) for e in note.toc]
    assert '为什么除以 <span class="math inline">\\sqrt{d_k}</span>' in titles
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <code>code</code>" in titles
    assert "<script>" not in note.html


def test_note_page_links_every_section(client):
    html = client.get("/notes/self-attention").text
    toc = html[html.index('id="note-toc"') : html.index("</details>")]
    targets = re.findall(r'href="#([^"]+)"', toc)
    assert len(targets) >= TOC_MIN_HEADINGS
    for target in targets:
        assert f'id="{target}"' in html
    assert "复杂度与长序列" in toc
