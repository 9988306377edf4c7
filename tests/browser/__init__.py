"""Browser-verified ground truth: real Chromium fetches through real mitmproxy.

    .venv/bin/python -m pytest tests/browser -m browser      # capture + all checks (~15 s)
    .venv/bin/python -m tests.browser.capture OUTDIR         # capture only
    CORS_BROWSER_RUN=OUTDIR .venv/bin/python -m pytest tests/browser -m browser
    .venv/bin/python scripts/show_ground_truth.py OUTDIR     # Chromium's verdicts, as a table

Modules: ``cases`` (what is fetched), ``raw_backend`` and ``apps`` (who answers),
``network_log`` (CDP events), ``capture`` (one run),
``test_harness`` (checks on the capture itself), ``test_agreement`` (engine
vs Chromium), ``test_live_log`` (the mitmproxy addon's live log vs ``analyze`` and Chromium),
``fixes`` and ``test_fixes_in_chromium`` (the suggested fix, applied to the real FastAPI apps,
re-run in Chromium), ``stories`` (the page sessions ``scripts/make_sample_flows.py`` records
into ``sample_flows/``). The process helpers and the engine-vs-browser comparison are in
``tests/support/``, shared with the other suites.
"""
