"""Run by the installed package's own Python (not the test's): open the bundled sample in the
TUI, headless, and print what the table shows. Exit status 0 only when it came up whole."""

import asyncio
import sys

from cors_inspector.cli.parser import bundled_sample
from cors_inspector.tui.app import CorsInspectorApp
from cors_inspector.tui.store import Store


async def main() -> int:
    app = CorsInspectorApp(Store(), files=[bundled_sample()])
    async with app.run_test(size=(140, 40)) as pilot:
        await app.workers.wait_for_complete()  # the file is read
        await pilot.pause()
        await pilot.press("s")  # the summary screen: its own stylesheet
        await app.workers.wait_for_complete()
        await pilot.pause()
        print(f"requests: {app.store.total}")
        print(f"screen: {type(app.screen).__name__}")
    return app.return_code or 0


sys.exit(asyncio.run(main()))
