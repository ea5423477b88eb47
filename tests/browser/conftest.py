"""Chromium, headless, driven by selenium against the stack's /demo page (``make
test-browser``; ``make test`` does not collect this folder: pyproject's ``--ignore``).

Debian's chromium and chromium-driver, named explicitly so that selenium-manager never tries
to download a browser or a driver (the machine may have no internet). A failed test leaves a
screenshot and the page's console log in ``.data/browser/<test>.png`` / ``.log``."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.stack import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = ROOT / ".data" / "browser"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1600,1000")


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="escrow-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    # The page's viewport itself 1600×1000 (the window's size includes the browser's frame).
    frame = driver.execute_script("return [outerWidth - innerWidth, outerHeight - innerHeight]")
    driver.set_window_size(1600 + frame[0], 1000 + frame[1])
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


SAVED: list[Path] = []  # this run's screenshots, listed at the end of the run


def save_screenshot(driver: webdriver.Chrome, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    SAVED.append(path)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for path in SAVED:
        terminalreporter.write_line(f"browser screenshot: {path}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call" and report.failed and "browser" in getattr(item, "funcargs", {}):
        driver = item.funcargs["browser"]
        path = save_screenshot(driver, item.name)
        try:
            console = driver.get_log("browser")
        except Exception:  # the log is a chromedriver extension: best effort
            console = []
        log = path.with_suffix(".log")
        log.write_text("\n".join(json.dumps(entry) for entry in console) + "\n")
        report.sections.append(("browser", f"screenshot: {path}\nconsole log: {log}"))
    return report
