"""Frontend budgets, measured in headless Chromium. Prints figures; asserts nothing.

1. Page transfer before any video: the bytes of HTML, CSS and JS the browser fetches to show
   the studio (uncompressed, as served). Budget: 60 KB.
2. Time to render 500 jobs into the list, budget 100 ms, with GET /api/videos answered by
   Playwright's page.route: the app's own `studio:render-list` performance measure on page
   load (building the cards from the <template> and inserting them; first run, cold JIT),
   then the same list module rendering the 500 again, without and with style and layout.

The files are served from frontend/ by a stdlib static server and /api is scripted, so no
backend is needed. Usage: .venv/bin/python bench/bench_frontend.py [--runs N]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import os
import statistics
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TRANSFER_KB = 60
RENDER_BUDGET_MS = 100.0
JOBS = 500

CONFIG = {
    "models": [
        {
            "id": "sora-2",
            "label": "Sora 2",
            "sizes": ["1280x720", "720x1280"],
            "seconds": [4, 8, 12],
            "price_per_second_usd": 0.1,
            "price_per_second_by_size": {"1280x720": 0.1, "720x1280": 0.1},
            "supports_remix": True,
            "supports_reference": True,
        },
        {
            "id": "sora-2-pro",
            "label": "Sora 2 Pro",
            "sizes": ["1280x720", "720x1280", "1792x1024", "1024x1792"],
            "seconds": [4, 8, 12],
            "price_per_second_usd": 0.3,
            "price_per_second_by_size": {
                "1280x720": 0.3,
                "720x1280": 0.3,
                "1792x1024": 0.5,
                "1024x1792": 0.5,
            },
            "supports_remix": True,
            "supports_reference": True,
        },
    ],
    "defaults": {"model": "sora-2", "size": "1280x720", "seconds": 4},
    "upstream": "simulator",
    "limits": {"prompt_max_chars": 32000},
}


def history(n: int) -> list[dict]:
    """n jobs in every state, newest first, shaped like GET /api/videos answers them."""
    statuses = ["completed", "in_progress", "queued", "failed"]
    jobs = []
    for i in range(n):
        status = statuses[i % 4]
        job_id = f"00000000-0000-4000-8000-{i:012d}"
        done = status == "completed"
        jobs.append(
            {
                "id": job_id,
                "prompt": f"Clip {i}: a slow dolly shot through a misty pine forest at dawn, "
                "light rays, birds taking off, cinematic",
                "model": "sora-2-pro" if i % 3 else "sora-2",
                "size": "1280x720" if i % 2 else "720x1280",
                "seconds": [4, 8, 12][i % 3],
                "aspect_ratio": "16:9" if i % 2 else "9:16",
                "duration": [4, 8, 12][i % 3],
                "format": "mp4",
                "status": status,
                "progress": 100 if done else (i * 7) % 100,
                "sora_job_id": f"video_{i:06d}",
                "remixed_from": f"00000000-0000-4000-8000-{i - 1:012d}" if i % 10 == 1 else None,
                "reference_url": None,
                "content_variant": "video",
                "content_ready_at": None,
                "error_code": "moderation_blocked" if status == "failed" else None,
                "error_message": "Blocked by moderation." if status == "failed" else None,
                "estimated_cost_usd": 0.4,
                "media_url": f"/api/videos/{job_id}/media" if done else None,
                "thumbnail_url": f"/api/videos/{job_id}/media?variant=thumbnail" if done else None,
                "created_at": f"2026-11-{24 - i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00Z",
                "updated_at": "2026-11-24T12:00:00Z",
            }
        )
    return jobs[::-1]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve_frontend() -> ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(FRONTEND))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def script_api(page, jobs: list[dict]) -> None:
    page.route("**/api/config", lambda r: r.fulfill(json=CONFIG))
    page.route("**/api/videos?*", lambda r: r.fulfill(json={"jobs": jobs, "next_cursor": None}))
    # Pending jobs are polled one by one; keep them unchanged.
    by_id = {j["id"]: j for j in jobs}
    page.route(
        "**/api/videos/*",
        lambda r: r.fulfill(json={"job": by_id.get(r.request.url.rsplit("/", 1)[-1])}),
    )
    # No media during the benchmark: the budget is about the page, not the videos.
    page.route("**/media*", lambda r: r.abort())


def transfer_size(browser, base: str) -> tuple[int, dict[str, int]]:
    page = browser.new_page()
    sizes: dict[str, int] = {}

    def record(response) -> None:
        if response.request.resource_type in ("document", "stylesheet", "script"):
            sizes[response.url.removeprefix(base)] = len(response.body())

    page.on("response", record)
    script_api(page, [])
    page.goto(base + "/")
    page.wait_for_selector("#submit:not([disabled])")
    page.wait_for_load_state("networkidle")
    page.close()
    return sum(sizes.values()), sizes


# The page's own list module rendering the jobs into a fresh list in place of the real one
# (same CSS); returns [building + inserting, the same plus style and layout] in ms.
RENDER_AGAIN = """
async ({ jobs, runs }) => {
  const { createJobList } = await import('/js/list.js');
  const { createCatalog } = await import('/js/catalog.js');
  const config = await (await fetch('/api/config')).json();
  const catalog = createCatalog(config);
  const real = document.getElementById('job-list');
  const times = [];
  for (let i = 0; i < runs; i++) {
    const ol = document.createElement('ol');
    ol.className = 'cards';
    real.replaceWith(ol);
    const list = createJobList(ol, {
      template: document.getElementById('job-card'), catalog, lookup: () => null, onAction() {},
    });
    const t0 = performance.now();
    list.handle({ type: 'reset', jobs });
    const t1 = performance.now();
    void ol.offsetHeight;
    times.push([t1 - t0, performance.now() - t0]);
    ol.replaceWith(real);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return times;
}
"""


def render_times(browser, base: str, runs: int) -> dict[str, list[float]]:
    jobs = history(JOBS)
    first, script, layout = [], [], []
    for _ in range(runs):
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        script_api(page, jobs)
        page.goto(base + "/")
        page.locator("#job-list > li").nth(JOBS - 1).wait_for(state="attached")
        first.append(
            page.evaluate("performance.getEntriesByName('studio:render-list').at(-1).duration")
        )
        for built, laid_out in page.evaluate(RENDER_AGAIN, {"jobs": jobs, "runs": 5}):
            script.append(built)
            layout.append(laid_out)
        page.close()
    return {
        "the app's first render on page load (build + insert)": first,
        "re-render, build + insert": script,
        "re-render, build + insert + style and layout": layout,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh page loads to time")
    args = parser.parse_args()

    server = serve_frontend()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            total, sizes = transfer_size(browser, base)
            times = render_times(browser, base, args.runs)
            browser.close()
    finally:
        server.shutdown()

    gzipped = sum(
        len(gzip.compress((FRONTEND / u.lstrip("/")).read_bytes())) for u in sizes if u != "/"
    )
    gzipped += len(gzip.compress((FRONTEND / "index.html").read_bytes()))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print("Frontend budgets (headless Chromium)")
    print(f"  load average {load} on {os.cpu_count()} CPUs (other work inflates the times)")
    print()
    print(f"Page transfer before any video, HTML+CSS+JS uncompressed (budget {TRANSFER_KB} KB):")
    for url, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {size:7,d} B  {url}")
    verdict = "within" if total < TRANSFER_KB * 1000 else "OVER"
    print(f"  total {total:,d} B = {total / 1000:.1f} KB, {verdict} budget")
    print(f"  (gzip, as CloudFront would serve it: {gzipped / 1000:.1f} KB)")
    print()
    print(f"Render {JOBS} jobs into the list (budget {RENDER_BUDGET_MS:.0f} ms):")
    for name, values in times.items():
        med = statistics.median(values)
        verdict = "within" if med < RENDER_BUDGET_MS else "OVER"
        print(f"  {name}:")
        print(
            f"    median {med:.1f} ms, best {min(values):.1f} ms, worst {max(values):.1f} ms"
            f" over {len(values)} runs; median {verdict} budget"
        )


if __name__ == "__main__":
    main()
