"""Screenshot of the explorer page for docs/serving.md: serve a bundle on loopback, open /explorer in headless
chromium, pick a user and explain its first suggestion.

    .venv/bin/python scripts/explorer_screenshot.py out/demo/bundle docs/img/explorer.png --user 1387
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--user", default=None, help="the user to pick (default: the tenth listed)")
    args = ap.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    from serving import Server
    from socialgraph.serve.service import ModelService

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1150,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    token = "screenshot"
    try:
        with Server(ModelService(args.bundle), token) as url:
            wait = WebDriverWait(driver, 60)
            driver.get(url + "/explorer")
            driver.find_element(By.ID, "token").send_keys(token)
            driver.find_element(By.ID, "connect").click()
            wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-connected") == "true")
            picker = Select(driver.find_element(By.ID, "user"))
            picker.select_by_visible_text(args.user) if args.user else picker.select_by_index(10)
            wait.until(lambda d: d.find_element(By.ID, "suggestions").get_attribute("data-ready") == "true")
            driver.find_element(By.CSS_SELECTOR, "#suggestions li").click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#neighbourhood circle"))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.out))
    finally:
        driver.quit()
    print(args.out)


if __name__ == "__main__":
    main()
