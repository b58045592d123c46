"""The README and docs/ hold together: every relative link leads to a file
that exists and every #anchor to a heading there (GitHub's anchor rules),
and the README's "Adding a route" module is the one the security tests run."""

import pathlib
import re

from serverproc import ROOT

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\]\n]|\[[^\]\n]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HTML_REF = re.compile(r"<(?:img|a)\s[^>]*?(?:src|href)=\"([^\"]+)\"", re.I)
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def documents(root=ROOT):
    return [root / "README.md"] + sorted((root / "docs").glob("*.md"))


def slug(heading):
    """GitHub's anchor for a heading: the text as shown, lower case, without
    punctuation but - and _, spaces as -."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path):
    seen = {}
    out = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else "%s-%d" % (base, n))
    return out


def links(path):
    text = CODE_SPAN.sub("", FENCE.sub("", path.read_text()))
    return LINK.findall(text) + HTML_REF.findall(text)


def dead_links(paths):
    """['README.md: docs/x.md#y (why)', ...] for every relative link that
    does not lead anywhere."""
    dead = []
    for path in paths:
        for target in links(path):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            where = "%s: %s" % (path.relative_to(path.parents[1] if path.parent.name == "docs" else path.parent), target)
            if not dest.exists():
                dead.append(where + " (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                dead.append(where + " (no such heading)")
    return dead


def test_every_relative_link_and_anchor_in_the_readme_and_docs_leads_somewhere():
    docs = documents()
    assert len(docs) >= 7 and sum(len(links(p)) for p in docs) > 40  # the check has links to check
    assert dead_links(docs) == []


def test_the_link_check_finds_a_dead_file_a_missing_anchor_and_follows_github_slugs(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A title\n\n## The board's own TCP/IP stack\n\n## Twice\n\n## Twice\n")
    (tmp_path / "README.md").write_text(
        "# Read me\n\n## Trying it on a PC: the two commands\n\n"
        "[ok](docs/a.md#the-boards-own-tcpip-stack) [ok](docs/a.md#twice-1) [ok](#trying-it-on-a-pc-the-two-commands)\n"
        "[gone](docs/b.md) [no heading](docs/a.md#nowhere) ![pic](docs/pic.png) [web](https://example.com/x)\n"
        "`[in code](docs/c.md)`\n```\n[in a block](docs/d.md)\n```\n<img src=\"docs/e.png\" alt=\"\">\n")
    assert dead_links(documents(tmp_path)) == [
        "README.md: docs/b.md (no such file)",
        "README.md: docs/a.md#nowhere (no such heading)",
        "README.md: docs/pic.png (no such file)",
        "README.md: docs/e.png (no such file)",
    ]


def test_the_readmes_route_example_is_the_module_the_security_tests_run():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Adding a route", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    module = (ROOT / "tests/apps/hello.py").read_text()
    code = module[module.index("def install"):]  # without its header comment
    assert example == code
    assert 'APP_MODULES = ("hello",)' in section


def test_the_readme_stays_short_and_starts_from_a_new_board():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    for words in ("make firmware", "BOOTSEL", "make flash", "PicoW-Setup", "picosetup", "http://picow.local/",
                  "-pico_w.uf2", "-pico2_w.uf2", "RP2040", "RP2350", "make deploy"):
        assert words in quick_start, words
    # the download first, building it yourself second (issue 26)
    assert quick_start.index("Releases page") < quick_start.index("make firmware")
