"""The /demo page in headless Chromium against the test stack: a deal driven from the
buyer's, seller's and admin's panels, and everything they show arrives over Socket.IO (no
reload). What the page shows is checked against the API's own answers."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from tests.browser.conftest import save_screenshot
from tests.browser.demo_page import DemoPage, kes
from tests.helpers import PASSWORD, Api, make_admin, register
from tests.stack import Stack

SUCCESS, CANCELS = "254708374149", "254700000001"


def signed_in(stack: Stack, email: str) -> Api:
    api = Api(stack.api)
    api.token = api.data("POST", "/api/auth/login",
                         {"email": email, "password": PASSWORD})["accessToken"]
    return api


def test_a_deal_paid_from_the_success_phone_shows_active_without_a_reload(
    stack: Stack, browser: webdriver.Chrome,
) -> None:
    page = DemoPage(browser, stack)
    page.sign_up("buyer")
    seller_email = page.sign_up("seller")
    deal_id = page.open_deal("Used phone", 1500, seller_email)
    page.wait_text("seller-status", "pending")  # the seller's panel got transaction:created

    page.pay(SUCCESS)
    page.wait_text("buyer-status", "active")
    page.wait_text("seller-status", "active")
    page.wait_text("buyer-payment-status", "success")
    page.wait_text("buyer-ledger-sum", "1 postings, sum 0")
    page.wait_text("buyer-timeline", "active")
    save_screenshot(browser, "demo-mid-deal")

    page.click("seller-deliver")
    page.wait_text("buyer-timeline", "delivered")
    page.click("buyer-release")
    page.wait_text("seller-status", "completed")
    seller = signed_in(stack, seller_email)
    deal = seller.data("GET", f"/api/transactions/{deal_id}")
    paid = deal["settlement"]["sellerAmount"] - deal["settlement"]["fee"]
    assert seller.data("GET", "/api/wallet")["balance"] == paid
    page.wait_text("seller-wallet", kes(paid))
    page.wait_text("seller-ledger-sum", "2 postings, sum 0")

    page.type("seller-withdraw-amount", "100")
    page.click("seller-withdraw")  # to the success phone, the first of the B2C list
    page.wait_text("seller-wallet", kes(paid - 100))
    page.wait_text("seller-payouts", "KES 100 to 2547****149: success")
    assert page.not_reloaded()
    assert page.console_errors() == []  # the CSP let the page, its socket and its calls be


def test_a_payment_cancelled_on_the_phone_shows_why(
    stack: Stack, browser: webdriver.Chrome,
) -> None:
    page = DemoPage(browser, stack)
    page.sign_up("buyer")
    page.open_deal("Laptop", 2000, page.sign_up("seller"))
    page.pay(CANCELS)
    page.wait_text("buyer-payment-status", "failed")
    page.wait_text("buyer-payment-reason", "cancelled by user")
    page.wait_text("buyer-payment-reason", "1032")
    assert page.text("buyer-status") == "pending"
    assert page.not_reloaded()


def test_a_title_full_of_markup_is_shown_as_text(stack: Stack, browser: webdriver.Chrome) -> None:
    page = DemoPage(browser, stack)
    page.sign_up("buyer")
    title = '<img src=x onerror="document.title=\'pwned\'"><b>bold</b>'
    page.open_deal(title, 100, page.sign_up("seller"))
    page.wait_text("seller-title", title)
    for role in ("buyer", "seller"):
        assert page.text(f"{role}-title") == title
        panel = page.part(f"{role}-panel")
        assert panel.find_elements(By.CSS_SELECTOR, "img, .deal-list b, [data-part=title] *") == []
        assert title in page.text(f"{role}-list")
    assert browser.title != "pwned"
    assert page.console_errors() == []  # no <img src=x> was made, so nothing failed to load


def test_a_dispute_split_by_the_admin_shows_both_wallets(
    stack: Stack, browser: webdriver.Chrome,
) -> None:
    page = DemoPage(browser, stack)
    buyer_email, seller_email = page.sign_up("buyer"), page.sign_up("seller")
    deal_id = page.open_deal("Bicycle", 1000, seller_email)
    page.pay(SUCCESS)
    page.wait_text("buyer-status", "active")
    page.click("buyer-dispute")
    page.wait_text("seller-status", "disputed")

    admin = make_admin(stack)
    page.sign_in_admin(admin.user["email"], "an operator password")
    page.click_deal("admin-disputes", deal_id)  # once the dispute is in the admin's list
    page.wait_text("admin-status", "disputed")
    Select(page.part("admin-outcome")).select_by_value("split")
    page.type("admin-seller-amount", "600")
    page.click("admin-resolve")
    page.wait_text("buyer-status", "completed")
    page.wait_text("admin-status", "completed")

    buyer, seller = signed_in(stack, buyer_email), signed_in(stack, seller_email)
    settlement = buyer.data("GET", f"/api/transactions/{deal_id}")["settlement"]
    assert (settlement["kind"], settlement["sellerAmount"]) == ("dispute_split", 600)
    buyer_gets = settlement["buyerAmount"]
    seller_gets = settlement["sellerAmount"] - settlement["fee"]
    assert buyer.data("GET", "/api/wallet")["balance"] == buyer_gets == 400
    assert seller.data("GET", "/api/wallet")["balance"] == seller_gets
    page.wait_text("buyer-wallet", kes(buyer_gets))
    page.wait_text("seller-wallet", kes(seller_gets))
    page.wait_text("admin-ledger-sum", "2 postings, sum 0")
    assert page.not_reloaded()


def test_a_panel_signed_in_again_as_someone_else_shows_only_their_deals(
    stack: Stack, browser: webdriver.Chrome,
) -> None:
    page = DemoPage(browser, stack)
    first = page.sign_up("buyer")
    seller_email = page.sign_up("seller")
    page.open_deal("The first buyer's deal", 300, seller_email)
    # Every session of the first buyer ends elsewhere: the panel's socket is dropped, its
    # refresh is refused, and the panel asks to sign in again.
    assert signed_in(stack, first).post("/api/auth/logout-all").status_code == 200
    page.wait_for(lambda: page.part("buyer-auth").is_displayed(), "the sign-in form again")
    page.wait_text("buyer-who", "session ended")

    second = register(stack, "buyer")
    second.data("POST", "/api/transactions", {
        "title": "The second buyer's deal", "description": "theirs", "amount": 200,
        "sellerEmail": seller_email}, expect=201)
    page.type("buyer-email", second.user["email"])
    page.type("buyer-password", PASSWORD)
    page.click("buyer-login")
    page.wait_text("buyer-list", "The second buyer's deal")  # the panel read their deals
    assert "The first buyer's deal" not in page.text("buyer-list")
    assert page.text("buyer-title") != "The first buyer's deal"
    assert page.text("buyer-ledger-sum") == ""


SHORT_ACCESS_S = 6  # long enough to sign up and connect on a loaded machine
# Counts the page's token refreshes; while window.hold is true, a refresh waits (the socket it
# would reconnect stays down) until the test calls window.release().
COUNT_REFRESHES = """
window.refreshes = 0;
window.hold = false;
const held = [];
window.release = () => { window.hold = false; held.splice(0).forEach((resolve) => resolve()); };
const send = window.fetch;
window.fetch = async (url, options) => {
  if (String(url).endsWith("/api/auth/refresh")) {
    window.refreshes += 1;
    if (window.hold) await new Promise((resolve) => held.push(resolve));
  }
  return send(url, options);
};
"""


def test_the_panels_stay_live_past_their_tokens_and_read_again_what_they_missed(
    stack: Stack, browser: webdriver.Chrome,
) -> None:
    """Each socket is ended by the server when its token expires: the page refreshes the
    tokens and reconnects with the new one, and what then changes still arrives live; what
    changed while a socket was down is read again once it is back."""
    try:
        base = stack.start_extra_api("api-demo-short", ACCESS_TOKEN_SECONDS=str(SHORT_ACCESS_S))
        page = DemoPage(browser, stack, base)
        browser.execute_script(COUNT_REFRESHES)
        page.sign_up("buyer")
        seller_email = page.sign_up("seller")
        assert browser.execute_script("return window.refreshes") == 0
        # Nothing calls the API meanwhile: the refreshes are the sockets' (one a panel).
        page.wait_for(lambda: browser.execute_script("return window.refreshes") >= 2,
                      "both sockets to be ended at their token's expiry and refreshed",
                      timeout=SHORT_ACCESS_S * 4)
        page.wait_text("buyer-who", "live")
        page.wait_text("seller-who", "live")

        page.open_deal("After the first token", 700, seller_email)
        page.wait_text("seller-status", "pending")  # transaction:created, on the new socket
        page.pay(SUCCESS)
        page.wait_text("seller-status", "active")
        page.wait_text("buyer-payment-status", "success")

        # The next expiry drops the buyer's socket, and its refresh is held: what the seller
        # does meanwhile sends the buyer an event nobody receives. Once reconnected, the
        # buyer's panel reads the deal again and shows it.
        browser.execute_script("window.hold = true")
        page.wait_text("buyer-who", "io server disconnect", timeout=SHORT_ACCESS_S * 4)
        seller = Api(base)
        seller.token = seller.data("POST", "/api/auth/login",
                                   {"email": seller_email, "password": PASSWORD})["accessToken"]
        deal_id = page.part("buyer-deal").get_attribute("data-deal-id")
        seller.data("POST", f"/api/transactions/{deal_id}/deliver")
        assert "delivered" not in page.text("buyer-timeline")
        browser.execute_script("window.release()")
        page.wait_text("buyer-who", "live")
        page.wait_text("buyer-timeline", "delivered")
        page.wait_text("buyer-amount", "delivered")
        assert page.not_reloaded()
    finally:
        stack.stop("api-demo-short")


# Holds the page's requests whose path ends with window.holdPath until window.releaseHeld();
# window.heldDone turns true once the page has had a held answer and done what it does next.
HOLD_REQUESTS = """
window.holdPath = null;
window.heldDone = false;
const held = [];
window.releaseHeld = () => { window.holdPath = null; held.splice(0).forEach((go) => go()); };
const send = window.fetch;
window.fetch = async (url, options) => {
  if (!window.holdPath || !String(url).endsWith(window.holdPath)) return send(url, options);
  await new Promise((go) => held.push(go));
  const response = await send(url, options);
  const json = response.json.bind(response);
  response.json = async () => {
    const value = await json();
    setTimeout(() => { window.heldDone = true; });  // after the page's own continuation
    return value;
  };
  return response;
};
"""


def test_a_deal_selected_after_another_never_shows_the_first_ones_payment(
    stack: Stack, browser: webdriver.Chrome,
) -> None:
    page = DemoPage(browser, stack)
    browser.execute_script(HOLD_REQUESTS)
    page.sign_up("buyer")
    seller_email = page.sign_up("seller")
    paid = page.open_deal("The paid deal", 500, seller_email)
    page.pay(SUCCESS)
    page.wait_text("buyer-payment-status", "success")
    unpaid = page.open_deal("The unpaid deal", 400, seller_email)
    page.wait_text("buyer-list", "The unpaid deal")

    # The paid deal's payments answer late: the buyer has picked the unpaid one meanwhile.
    browser.execute_script(f"window.holdPath = '/api/transactions/{paid}/payments'")
    page.click_deal("buyer-list", paid)
    page.click_deal("buyer-list", unpaid)
    page.wait_text("buyer-title", "The unpaid deal")
    page.wait_text("buyer-ledger-sum", "0 postings")
    assert page.text("buyer-payment-status") == "none"
    browser.execute_script("window.releaseHeld()")
    page.wait_for(lambda: browser.execute_script("return window.heldDone"),
                  "the late answer to be handled")
    assert page.part("buyer-deal").get_attribute("data-deal-id") == unpaid
    assert page.text("buyer-payment-status") == "none"
    assert page.text("buyer-payment-reason") == ""


def test_a_read_refused_because_the_session_ended_is_said_not_thrown(
    stack: Stack, browser: webdriver.Chrome,
) -> None:
    page = DemoPage(browser, stack)
    browser.execute_script(HOLD_REQUESTS)
    buyer_email = page.sign_up("buyer")
    deal_id = page.open_deal("A deal read too late", 300, page.sign_up("seller"))
    browser.execute_script(f"window.holdPath = '/api/transactions/{deal_id}/payments'")
    page.click_deal("buyer-list", deal_id)
    assert signed_in(stack, buyer_email).post("/api/auth/logout-all").status_code == 200
    page.wait_text("buyer-who", "session ended")
    browser.execute_script("window.releaseHeld()")
    page.wait_for(lambda: browser.execute_script("return window.heldDone"),
                  "the late answer to be handled")
    page.wait_text("buyer-message", "revoked")  # the refused read is said on the panel …
    uncaught = [line for line in page.console_errors() if "Uncaught" in line]
    assert uncaught == []  # … and nothing is left unhandled


def test_a_socket_that_cannot_reach_the_api_leaves_no_uncaught_error(
    stack: Stack, browser: webdriver.Chrome,
) -> None:
    """The API goes away: the socket's reconnections fail, and so do the refreshes they start
    (a network error, not a refusal); the page says so and throws nothing."""
    try:
        base = stack.start_extra_api("api-demo-gone")
        page = DemoPage(browser, stack, base)
        browser.execute_script(COUNT_REFRESHES)
        page.sign_up("buyer")
    finally:
        stack.stop("api-demo-gone")
    page.wait_for(lambda: browser.execute_script("return window.refreshes") >= 1,
                  "a failed reconnection to try a refresh")
    page.wait_text("buyer-who", "refused")
    uncaught = [line for line in page.console_errors() if "Uncaught" in line]
    assert uncaught == []


def test_a_panel_whose_api_comes_back_after_its_token_expired_goes_live_again(
    stack: Stack, browser: webdriver.Chrome,
) -> None:
    """The API is away for longer than the access token lives and for several reconnections:
    a refresh that cannot reach the API is not a refusal, so when the API is back the page
    still refreshes and its socket goes live (it used to stop refreshing after two failures,
    and stayed refused until a reload)."""
    short = str(SHORT_ACCESS_S)
    try:
        base = stack.start_extra_api("api-demo-back", ACCESS_TOKEN_SECONDS=short)
        page = DemoPage(browser, stack, base)
        browser.execute_script(COUNT_REFRESHES)
        page.sign_up("buyer")
        page.wait_text("buyer-who", "live")
        signed_up = time.monotonic()
        stack.stop("api-demo-back")
        page.wait_for(lambda: browser.execute_script("return window.refreshes") >= 2
                      and time.monotonic() > signed_up + SHORT_ACCESS_S,
                      "two refreshes to fail while the API is away, past the token's expiry",
                      timeout=SHORT_ACCESS_S * 10)
        assert "live" not in page.text("buyer-who")
        stack.start_extra_api("api-demo-back", str(urlsplit(base).port),  # the same port
                              ACCESS_TOKEN_SECONDS=short)
        page.wait_text("buyer-who", "live", timeout=30)
        assert page.not_reloaded()
    finally:
        stack.stop("api-demo-back")
