"""Screenshot of the explorer page for docs/serving.md: serve a bundle on loopback, open /explorer in headless
chromium, pick a user and explain its first suggestion.

    .venv/bin/python scripts/explorer_screenshot.py out/demo/bundle docs/img/explorer.png --user 1387
"""
from __future__ import annotations

import argparse
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

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from serving import Server, headless_chromium, show_suggestions
    from socialgraph.serve.service import ModelService

    driver = headless_chromium(1150, 900)
    token = "screenshot"
    try:
        with Server(ModelService(args.bundle), token) as url:
            show_suggestions(driver, url, token, args.user)
            driver.find_element(By.CSS_SELECTOR, "#suggestions li").click()
            WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#neighbourhood circle"))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.out))
    finally:
        driver.quit()
    print(args.out)


if __name__ == "__main__":
    main()
