"""The /demo page as the browser tests use it: its panels' parts by ``data-testid``, and
waiting for what the page shows (WebDriverWait on the DOM, never a sleep)."""

from __future__ import annotations

import uuid

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers import PASSWORD
from tests.stack import Stack

WAIT_S = 30  # a payment is a worker, the sandbox and its callback away


def kes(amount: int) -> str:
    return f"KES {amount:,}"


class DemoPage:
    def __init__(self, driver: webdriver.Chrome, stack: Stack, base: str | None = None) -> None:
        self.driver = driver
        # The browser is the session's: what an earlier test's page logged is not this page's.
        driver.get("about:blank")
        driver.get_log("browser")
        driver.get(f"{base or stack.api}/demo")
        self.wait_for(lambda: driver.execute_script("return document.body.dataset.ready"),
                      "the page's script to start")
        # A reload would drop this: the tests check at the end that it is still there.
        driver.execute_script("window.loadedOnce = true")

    def part(self, testid: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def text(self, testid: str) -> str:
        return self.part(testid).text

    def wait_for(self, condition: object, what: str, timeout: float = WAIT_S) -> object:
        return WebDriverWait(self.driver, timeout).until(
            lambda _: condition(), message=f"waiting for {what}")  # type: ignore[operator]

    def wait_text(self, testid: str, expected: str, timeout: float = WAIT_S) -> str:
        def shown() -> str | None:
            text = self.text(testid)
            return text if expected.lower() in text.lower() else None

        try:
            return str(self.wait_for(shown, f"{testid} to show {expected!r}", timeout))
        except Exception as error:
            raise AssertionError(f"{testid} shows {self.text(testid)!r}, not {expected!r}; "
                                 f"message lines: {self.messages()}") from error

    def messages(self) -> dict[str, str]:
        return {role: self.text(f"{role}-message") for role in ("buyer", "seller", "admin")}

    def type(self, testid: str, value: str) -> None:
        field = self.part(testid)
        field.clear()
        field.send_keys(value)

    def click(self, testid: str) -> None:
        button = self.part(testid)
        self.wait_for(button.is_enabled, f"{testid} to be enabled")
        button.click()

    def click_deal(self, testid: str, deal_id: str) -> None:
        """A deal's button in a list the page redraws on every change it hears of: found and
        clicked again until a click lands on a button still on the page."""
        css = f'[data-testid="{testid}"] button[data-deal="{deal_id}"]'

        def clicked() -> bool:
            try:
                self.driver.find_element(By.CSS_SELECTOR, css).click()
            except (NoSuchElementException, StaleElementReferenceException):
                return False
            return True

        self.wait_for(clicked, f"deal {deal_id} in {testid} to be clicked")

    def sign_up(self, role: str) -> str:
        email = f"demo-{role}-{uuid.uuid4().hex[:10]}@example.com"
        self.type(f"{role}-email", email)
        self.type(f"{role}-password", PASSWORD)
        self.click(f"{role}-register")
        self.wait_text(f"{role}-wallet", "KES")
        self.wait_text(f"{role}-who", "live")  # its socket is connected
        return email

    def sign_in_admin(self, email: str, password: str) -> None:
        self.type("admin-email", email)
        self.type("admin-password", password)
        self.click("admin-login")
        self.wait_text("admin-who", "live")

    def open_deal(self, title: str, amount: int, seller_email: str) -> str:
        form = self.driver.find_element(
            By.CSS_SELECTOR, '[data-testid="buyer-panel"] details.open-deal')
        if form.get_attribute("open") is None:  # closed by the previous deal opened
            form.find_element(By.TAG_NAME, "summary").click()
        self.type("buyer-new-title", title)
        self.type("buyer-new-amount", str(amount))
        self.type("buyer-seller-email", seller_email)
        self.click("buyer-open")
        self.wait_for(lambda: self.text("buyer-status") == "pending", "the deal to be pending")
        return str(self.part("buyer-deal").get_attribute("data-deal-id"))

    def pay(self, phone: str) -> None:
        Select(self.part("buyer-phone")).select_by_value(phone)
        self.click("buyer-pay")

    def console_errors(self) -> list[str]:
        """What the page logged as errors: a CSP violation, a failed load, an exception."""
        return [entry["message"] for entry in self.driver.get_log("browser")
                if entry["level"] == "SEVERE"]

    def not_reloaded(self) -> bool:
        return bool(self.driver.execute_script("return window.loadedOnce === true"))
