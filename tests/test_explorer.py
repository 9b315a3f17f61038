"""The explorer page in a real headless browser (Debian's chromium driven by Selenium): pick a user, see the
suggestions the API gives, open the explanation of one and its neighbourhood drawing."""
from __future__ import annotations

import httpx
import pytest

from socialgraph.serve.service import ModelService
from serving import Server, chromium_paths, headless_chromium, show_suggestions
from shipped import small_bundle

CHROMIUM, DRIVER = chromium_paths()
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs a chromium browser and its chromedriver (Debian: apt-get install "
                                       "chromium chromium-driver; .ci/run installs them)")
TOKEN = "explorer-token"


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    bundle = small_bundle(tmp_path_factory.mktemp("models") / "synth", seed=4)
    with Server(ModelService(bundle), TOKEN) as url:
        yield url


def test_explorer_shows_the_api_suggestions_and_an_explanation(browser, served, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    user = 123
    picker = show_suggestions(browser, served, TOKEN, user)
    assert len(picker.options) > 100  # the users the API lists
    shown = [int(li.get_attribute("data-user-id")) for li in browser.find_elements(By.CSS_SELECTOR, "#suggestions li")]
    api = httpx.post(served + "/suggest", json={"user": user, "k": 10},
                     headers={"Authorization": f"Bearer {TOKEN}"}).json()["suggestions"]
    assert shown == [s["user_id"] for s in api] and len(shown) == 10
    first = browser.find_element(By.CSS_SELECTOR, "#suggestions li")
    assert api[0]["reasons"][0] in first.text
    first.click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#neighbourhood circle")))
    assert browser.find_element(By.ID, "explanation").get_attribute("data-pair") == f"[{user},{shown[0]}]"
    circles = browser.find_elements(By.CSS_SELECTOR, "#neighbourhood circle")
    assert len(circles) >= 2 + api[0]["mutual_friends"] - max(0, api[0]["mutual_friends"] - 12)
    assert browser.find_element(By.ID, "status").text == ""
    browser.save_screenshot(str(tmp_path / "explorer.png"))


def test_explorer_without_the_token_says_so(browser, served):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(served + "/explorer")
    browser.find_element(By.ID, "connect").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "status").text != "")
    assert "bearer token" in browser.find_element(By.ID, "status").text
