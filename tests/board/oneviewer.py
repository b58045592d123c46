"""One viewer at a time: the dashboard's first load in a fresh browser
context (no cache, a new connection), as Navigation Timing reports it.

    python tests/board/oneviewer.py [--image ours|stock|FILE.uf2] [--loads 6] [--runs 2]

Each run boots the image, opens the page once to warm it up (the first view
imports the page's module), then --loads fresh contexts one after another,
2 s apart; a line per load: first byte and load event (ms from the
navigation's start). The issue's target: load event under 400 ms
(docs/lwip.md, "A room full of browsers"). Needs root, like every test of
the image.
"""
import argparse
import asyncio
import pathlib
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import crowd  # noqa: E402

_TIMING = """() => { const t = performance.getEntriesByType('navigation')[0];
  return [t.responseStart, t.loadEventEnd]; }"""


async def _loads(link, n, workdir):
    from playwright.async_api import async_playwright

    out = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=crowd._wrapper(link.netns, workdir), headless=True,
                                          args=crowd.CHROMIUM_ARGS, timeout=60000)
        try:
            for _ in range(n):
                ctx = await browser.new_context()
                page = await ctx.new_page()
                await page.goto(crowd.URL, wait_until="load", timeout=15000)
                out.append(await page.evaluate(_TIMING))
                await ctx.close()
                await asyncio.sleep(2.0)  # its connections end; the next is alone
        finally:
            await browser.close()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default="ours")
    ap.add_argument("--loads", type=int, default=6)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args(argv)
    image = crowd.IMAGES.get(args.image, pathlib.Path(args.image))
    loads = []
    for _ in range(args.runs):
        with crowd.booted(image) as (board, link):
            crowd.warm_up(link)
            workdir = tempfile.mkdtemp(prefix="oneviewer-")
            try:
                got = asyncio.run(_loads(link, args.loads, workdir))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        for first, load in got:
            print("first byte %4.0f ms, load event %4.0f ms" % (first, load), flush=True)
        loads += [load for _, load in got]
    print("%s: load event median %.0f ms, %d of %d under 400 ms" % (
        args.image, statistics.median(loads), sum(1 for x in loads if x < 400), len(loads)))


if __name__ == "__main__":
    main()
