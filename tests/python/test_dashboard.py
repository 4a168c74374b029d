"""`s3tune dashboard` in a real browser: Debian's Chromium, headless, driven through its
ChromeDriver by Selenium, against a dashboard serving real studies in a SQLite store —
a script study (examples/branin.py) and a transfer study with two objectives on the
embedded emulator. Screenshots of every view are kept in target/dashboard-screenshots.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, s3tune_bin

SHOTS = ROOT / "target" / "dashboard-screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SPACE = "x1 = { float = [-5.0, 10.0] }\nx2 = { float = [0.0, 15.0] }\nepochs = 1\n"

if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
    # CI always has them (scripts/test installs them); a developer's machine may not.
    assert os.environ.get("CI") != "true", "scripts/test installs chromium and chromium-driver"
    pytest.skip("chromium or chromedriver is not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def tune(home, storage, *args):
    run = subprocess.run([s3tune_bin(), "tune", "--storage", storage, *args],
                         cwd=home, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


def branin(home, storage, study, trials):
    space = home / "space.toml"
    space.write_text(SPACE)
    return tune(home, storage, "--command", f"{sys.executable} {ROOT / 'examples' / 'branin.py'}",
                "--space", str(space), "--metric", "loss", "--searcher", "random",
                "--study", study, "--trials", str(trials), "--out", str(home / study))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two studies in one store, and `s3tune dashboard` serving it on a free port."""
    home = tmp_path_factory.mktemp("dashboard")
    db = home / "studies.db"
    storage = f"sqlite:{db}"
    branin(home, storage, "branin", 6)
    tune(home, storage, "--object-size", "8MiB", "--trials", "5", "--repeats", "1",
         "--confirm", "0", "--objective", "seconds,memory", "--study", "lean",
         "--out", str(home / "lean"), "--dest-dir", str(home))
    proc = subprocess.Popen([s3tune_bin(), "dashboard", "--storage", storage,
                             "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("s3tune dashboard: http://127.0.0.1:"), proc.stderr.read()
    url = line.split()[2]
    yield {"home": home, "db": db, "storage": storage, "url": url}
    proc.terminate()
    assert proc.wait(timeout=10) == 0, "the dashboard stops cleanly on SIGTERM"


@pytest.fixture(scope="module")
def browser():
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def errors(driver, allow=()):
    """The console's errors since the last call, less those naming any of `allow`."""
    return [e for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and not any(a in e["message"] for a in allow)]


def wait(driver, condition, timeout=15):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d))


def rows(driver, table):
    return driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")


def stored(db, study):
    """The store's (number, status, config) of each trial of `study`."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute("SELECT t.number, t.status, t.config FROM trials t JOIN studies s"
                         " ON s.id = t.study WHERE s.name = ? ORDER BY t.number",
                         (study,)).fetchall()


def test_the_studies_page_lists_the_store_with_no_console_errors(site, browser):
    browser.get(site["url"])
    wait(browser, lambda d: len(rows(d, "studies")) == 2)
    names = [r.get_attribute("data-study") for r in rows(browser, "studies")]
    assert sorted(names) == ["branin", "lean"]
    assert errors(browser) == []
    browser.save_screenshot(str(SHOTS / "studies.png"))


def test_the_trial_table_has_the_store_trials(site, browser):
    browser.get(site["url"] + "#/study/branin/trials")
    want = stored(site["db"], "branin")
    wait(browser, lambda d: len(rows(d, "trials")) == len(want))
    shown = [(int(r.get_attribute("data-trial")),
              r.find_element(By.CSS_SELECTOR, "td.text").text.split()[0]) for r in rows(browser, "trials")]
    assert sorted(shown) == [(n, s) for n, s, _ in want]
    assert errors(browser) == []
    browser.save_screenshot(str(SHOTS / "trials.png"))


def test_a_trial_that_ends_meanwhile_appears_without_a_reload(site, browser):
    browser.get(site["url"] + "#/study/branin/trials")
    before = len(stored(site["db"], "branin"))
    wait(browser, lambda d: len(rows(d, "trials")) == before)
    browser.execute_script("window.__same_page = 42")
    branin(site["home"], site["storage"], "branin", before + 1)
    wait(browser, lambda d: len(rows(d, "trials")) == before + 1)
    assert browser.execute_script("return window.__same_page") == 42, "the page was not reloaded"
    assert errors(browser) == []


def test_a_click_on_a_trial_shows_its_configuration(site, browser):
    browser.get(site["url"] + "#/study/branin/trials")
    wait(browser, lambda d: len(rows(d, "trials")) >= 3)
    browser.find_element(By.CSS_SELECTOR, '#trials tr[data-trial="3"]').click()
    wait(browser, lambda d: d.find_element(By.ID, "detail-title").text == "Trial 3")
    shown = dict(zip([e.text for e in browser.find_elements(By.CSS_SELECTOR, "#detail-config dt")],
                     [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#detail-config dd")]))
    config = json.loads(next(c for n, _, c in stored(site["db"], "branin") if n == 3))
    assert set(shown) == set(config)
    for k in ("x1", "x2"):
        assert float(shown[k]) == pytest.approx(config[k], abs=1e-3), (k, shown, config)
    browser.save_screenshot(str(SHOTS / "trial-detail.png"))


def test_every_view_is_drawn(site, browser):
    browser.get(site["url"] + "#/study/branin/history")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history-chart circle")) >= 6)
    point = browser.find_element(By.CSS_SELECTOR, '#history-chart circle[data-trial="2"]')
    ActionChains(browser).move_to_element(point).perform()
    wait(browser, lambda d: d.find_element(By.ID, "tip").text.startswith("trial 2 "))
    browser.save_screenshot(str(SHOTS / "history.png"))
    browser.get(site["url"] + "#/study/branin/parallel")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#parallel-chart polyline")) >= 6)
    browser.save_screenshot(str(SHOTS / "parallel.png"))
    browser.get(site["url"] + "#/study/branin/workers")
    wait(browser, lambda d: len(rows(d, "workers")) >= 1)
    browser.save_screenshot(str(SHOTS / "workers.png"))
    browser.get(site["url"] + "#/study/lean/front")
    wait(browser, lambda d: len(rows(d, "front-table")) >= 1)
    knee = browser.find_elements(By.XPATH, '//*[@id="front-table"]//td[contains(., "knee")]')
    assert len(knee) == 1, "the knee is marked once"
    browser.save_screenshot(str(SHOTS / "front.png"))
    # A transfer trial's detail has its exports, as `tune` writes them for the best.
    browser.find_element(By.CSS_SELECTOR, '#front-table tr[data-trial]').click()
    wait(browser, lambda d: "TransferConfig(" in d.find_element(By.ID, "exports").text)
    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#exports h3")]
    assert titles == ["best.toml", "boto3.py", "aws-cli.ini"], titles
    assert errors(browser) == []


def test_a_missing_or_deleted_study_shows_a_message(site, browser):
    browser.get(site["url"] + "#/study/no-such-study")
    wait(browser, lambda d: "is not in this storage" in d.find_element(By.ID, "gone").text)
    branin(site["home"], site["storage"], "doomed", 1)
    browser.get(site["url"] + "#/study/doomed/trials")
    wait(browser, lambda d: len(rows(d, "trials")) == 1)
    with sqlite3.connect(site["db"]) as c:
        c.execute("PRAGMA foreign_keys = ON")
        sid = c.execute("SELECT id FROM studies WHERE name = 'doomed'").fetchone()[0]
        for table in ("notes", "trials"):
            c.execute(f"DELETE FROM {table} WHERE study = ?", (sid,))
        c.execute("DELETE FROM studies WHERE id = ?", (sid,))
    wait(browser, lambda d: "is not in this storage" in d.find_element(By.ID, "gone").text)
    # The page asked for a study that is not there (404): nothing else went wrong.
    assert errors(browser, allow=("404",)) == []


def test_a_comparison_is_drawn_as_bars_with_the_runs_range(tmp_path, browser):
    out = tmp_path / "cmp"
    run = subprocess.run(
        [s3tune_bin(), "compare", "--clients", "s3tune", "--budget", "3s", "--object-size",
         "4MiB", "--repeats", "2", "--rounds", "3", "--out", str(out), "--dest-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    c = json.loads((out / "compare.json").read_text())
    study = c["clients"][0]["study"]
    proc = subprocess.Popen([s3tune_bin(), "dashboard", "--storage", f"sqlite:{out / 'compare.db'}",
                             "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[2]
        browser.get("about:blank")
        errors(browser)  # what the page of an earlier test logged until it was left
        browser.get(f"{url}#/study/{study}/compare")
        wait(browser, lambda d: len(rows(d, "compare-table")) == 1)
        # Defaults, the best rule and the tuned best, each a bar with its runs' range.
        bars = browser.find_elements(By.CSS_SELECTOR, "#compare-chart rect.bar")
        assert [b.get_attribute("data-series") for b in bars] == ["defaults", "auto", "tuned"]
        x = c["clients"][0]
        spread = [len(runs) > 1 for runs in (x["defaults"]["runs"], x["auto"]["runs"],
                                             x["tuned"]["race_runs"])]
        assert len(browser.find_elements(By.CSS_SELECTOR, "#compare-chart path.whisker")) \
            == sum(spread), "a whisker for each bar measured more than once"
        cells = [td.text for td in rows(browser, "compare-table")[0].find_elements(By.TAG_NAME, "td")]
        assert cells[0] == "s3tune" and float(cells[3]) == pytest.approx(x["tuned"]["mbps"], abs=0.05)
        lo, hi = x["speedup_ci95"]
        assert f"[{lo:.2f}, {hi:.2f}]" in cells[4], cells
        browser.save_screenshot(str(SHOTS / "compare.png"))
        assert errors(browser) == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)
