"""A real uvicorn server over a bundle on a free loopback port, for the service's tests and benchmarks."""
from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from socialgraph.serve.app import create_app
from socialgraph.serve.service import ModelService


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``with Server(service, token) as url:`` serves on 127.0.0.1 in a thread until the block ends."""

    def __init__(self, service: ModelService, token: str) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(service, token), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start within 30 s")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def chromium_paths() -> tuple:
    """``(browser, chromedriver)`` found on PATH (``None`` for a missing one)."""
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    return browser, shutil.which("chromedriver")


def headless_chromium(width: int = 1200, height: int = 900):
    """A Selenium driver of headless chromium (Debian's ``chromium`` and ``chromium-driver``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def show_suggestions(driver, url: str, token: str, user=None, timeout: float = 60):
    """Open the explorer, connect with ``token``, pick ``user`` (default: the tenth listed) and wait for its
    suggestions; returns the user picker."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    driver.get(url + "/explorer")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "connect").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-connected") == "true")
    picker = Select(driver.find_element(By.ID, "user"))
    picker.select_by_visible_text(str(user)) if user is not None else picker.select_by_index(10)
    wait.until(lambda d: d.find_element(By.ID, "suggestions").get_attribute("data-ready") == "true")
    return picker
