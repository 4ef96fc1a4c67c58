"""Personal data and access in a real browser: setting up two-factor sign-in and signing in
with a code (Turkish console), and an admin erasing a person from the console (English)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pyotp
from playwright.async_api import Page, expect

from tests.browser.conftest import shot
from tests.integration.test_data_subjects import SECRETS, ZEYNEP, chat_with, stored_bytes
from tests.support import RunningServer, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
PASSWORD = "correct horse battery"


async def password_step(page: Page, srv: RunningServer, username: str, tr: bool) -> None:
    await page.goto(f"{srv.http}/console")
    await page.get_by_label("Kullanıcı adı" if tr else "Username").fill(username)
    await page.get_by_label("Parola" if tr else "Password").fill(PASSWORD)
    await page.get_by_role("button", name="Giriş yap" if tr else "Sign in").click()


async def test_two_factor_enrolment_and_sign_in(server: RunningServer, new_page) -> None:  # type: ignore[no-untyped-def]
    await make_agent(server, "ayse", name="Ayşe")
    page = await new_page(locale="tr-TR")
    await password_step(page, server, "ayse", tr=True)
    await page.wait_for_url(f"{server.http}/console")
    await page.get_by_role("link", name="Güvenlik").click()
    await expect(page.get_by_role("heading", name="İki adımlı giriş")).to_be_visible()
    qr = page.locator("#totp-qr")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")  # drawn in the page
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    await shot(page, "console-two-factor-setup")
    await page.get_by_label("Kod", exact=True).fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Aç").click()
    codes = page.locator("#recovery-codes li")
    await expect(codes).to_have_count(10)
    await page.get_by_role("link", name="Devam").click()
    await page.get_by_role("button", name="Çıkış yap").click()

    await password_step(page, server, "ayse", tr=True)
    await page.wait_for_url("**/console/login/code**")
    code_box = page.get_by_label("Doğrulama uygulamanızdaki kod veya bir kurtarma kodu")
    await code_box.fill("000000")
    await page.get_by_role("button", name="Devam").click()
    await expect(page.get_by_role("alert")).to_contain_text("doğru değil")
    # the step after the one used to set it up (codes work once)
    await code_box.fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.get_by_role("button", name="Devam").click()
    await page.wait_for_url(f"{server.http}/console")
    await expect(page.locator("#status")).to_be_visible()


async def test_an_admin_erases_a_person(server: RunningServer, new_page) -> None:  # type: ignore[no-untyped-def]
    ayse = await make_agent(server, "ayse")
    number = await chat_with(server, ayse, ZEYNEP)
    await make_agent(server, "root", role="admin", name="Root")
    page = await new_page(locale="en-GB")
    await password_step(page, server, "root", tr=False)
    await page.wait_for_url(f"{server.http}/console")
    await page.get_by_role("link", name="Personal data").click()
    await page.get_by_label("E-mail").fill(ZEYNEP["email"])
    await page.get_by_role("button", name="Find").click()
    found = page.locator("#found")
    await expect(found).to_contain_text(number)
    await shot(page, "console-privacy-found")
    await page.get_by_label("Why (the person's request, the law)").fill("KVKK request by e-mail")
    await page.get_by_role("button", name="Erase").click()  # not confirmed yet
    await expect(page.get_by_role("alert")).to_contain_text("tick the box")
    await page.get_by_label("E-mail").fill(ZEYNEP["email"])
    await page.get_by_role("button", name="Find").click()
    await page.get_by_label("Why (the person's request, the law)").fill("KVKK request by e-mail")
    await page.get_by_label("I understand this cannot be undone").check()
    await page.get_by_role("button", name="Erase").click()
    await expect(page.locator("#erased")).to_contain_text("1 request(s)")
    raw = await stored_bytes(server)
    for secret in SECRETS:
        assert secret not in raw, secret
    # the request is still there, without her
    await page.goto(f"{server.http}/console/requests/{number}")
    await expect(page.get_by_role("main")).to_contain_text(number)
    assert "Kayaoglu" not in await page.content()
