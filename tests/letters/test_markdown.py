from letters.markdown import markdown_excerpt, render_markdown


def test_markdown_renders_emphasis_and_lists() -> None:
    html = render_markdown("We ask you to **pay**.\n\n1. one\n2. two")
    assert "<strong>pay</strong>" in html
    assert "<ol>" in html


def test_script_tags_are_removed() -> None:
    html = render_markdown("Hello <script>alert(1)</script> world")
    assert "<script" not in html
    assert "alert(1)" not in html


def test_event_handlers_are_removed() -> None:
    html = render_markdown(
        '<p onclick="steal()">click</p><a href="https://x.org" onmouseover="x()">x</a>'
    )
    assert "onclick" not in html
    assert "onmouseover" not in html
    assert "click" in html


def test_javascript_urls_are_removed() -> None:
    html = render_markdown("[click](javascript:alert(1)) and <a href='JaVaScRiPt:alert(2)'>b</a>")
    assert "javascript" not in html.lower()


def test_links_get_safe_rel() -> None:
    html = render_markdown("[site](https://example.org)")
    assert 'href="https://example.org"' in html
    assert "noopener" in html


def test_images_and_iframes_are_dropped_so_pages_load_nothing_from_elsewhere() -> None:
    html = render_markdown(
        '![x](https://tracker.example/p.gif) <iframe src="https://e.x"></iframe>'
    )
    assert "<img" not in html
    assert "<iframe" not in html


def test_top_level_heading_becomes_h2_under_the_page_title() -> None:
    assert "<h2>Demands</h2>" in render_markdown("# Demands")


def test_excerpt_is_plain_text_without_entities() -> None:
    excerpt = markdown_excerpt("Artists & **writers** <b>unite</b>", length=200)
    assert excerpt == "Artists & writers unite"


def test_excerpt_is_cut_at_a_word() -> None:
    excerpt = markdown_excerpt("word " * 100, length=30)
    assert len(excerpt) <= 30
    assert excerpt.endswith("…")
