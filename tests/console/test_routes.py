"""The console's routes over loopback, with the real engine, store, OZmap sandbox and messenger
fakes: login and sessions, CSRF and Origin, the login throttle, claim conflicts, and that the
server (not the page) decides who may do what."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ozmap.sandbox import RunningSandbox
from bot.web.console.auth import SESSION_COOKIE
from tests.console.support import (
    PASSWORD,
    AgentClient,
    Served,
    TelegramCustomer,
    WhatsappCustomer,
    reserve_then_ask_for_a_person,
    serve_console,
)
from tests.support.outage import ozmap_down


@pytest.fixture
async def served(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Served]:
    async with serve_console(tmp_path, sandbox, public_base_url="http://127.0.0.1") as s:
        await s.add_agent("maria")
        await s.add_agent("joao")
        yield s


@pytest.fixture
async def maria(served: Served) -> AsyncIterator[AgentClient]:
    agent = AgentClient(served)
    assert (await agent.login("maria")).status_code == 303
    yield agent
    await agent.aclose()


@pytest.fixture
async def joao(served: Served) -> AsyncIterator[AgentClient]:
    agent = AgentClient(served)
    assert (await agent.login("joao")).status_code == 303
    yield agent
    await agent.aclose()


async def waiting_ticket(served: Served, agent: AgentClient, chat_id: int = 5501) -> int:
    await TelegramCustomer(served, chat_id).says("quero falar com um atendente")
    (ticket,) = [t for t in await agent.queue() if t["status"] == "waiting"]
    return int(ticket["id"])


# -- logging in ---------------------------------------------------------------------------------


async def test_everything_needs_a_login(served: Served) -> None:
    async with served.client() as anonymous:
        for page in ("/console/", "/console/tickets/1"):
            response = await anonymous.get(page)
            assert response.status_code == 303
            assert response.headers["location"] == "/console/login"
        for path in ("/console/api/queue", "/console/api/tickets/1", "/console/api/events"):
            response = await anonymous.get(path)
            assert response.status_code == 401, path
            assert "log in" in response.json()["error"]
        for path in ("claim", "messages", "ozmap", "release"):
            response = await anonymous.post(
                f"/console/api/tickets/1/{path}", json={}, headers={"Origin": served.url}
            )
            assert response.status_code == 401, path
        login = await anonymous.get("/console/login")
        assert login.status_code == 200
        assert "script-src 'self'" in login.headers["content-security-policy"]
        assert "'unsafe-inline'" not in login.headers["content-security-policy"]


async def test_login_sets_a_strict_httponly_cookie_and_logout_ends_the_session(
    served: Served, maria: AgentClient
) -> None:
    assert (await maria.get("/console/api/queue")).status_code == 200
    cookie = next(
        c for c in maria.http.cookies.jar if c.name == SESSION_COOKIE
    )  # the jar keeps the attributes the server set
    assert cookie.path == "/console"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite") in ("Strict", "strict")
    assert not cookie.secure  # PUBLIC_BASE_URL is http here
    token = cookie.value
    assert token

    page = await maria.get("/console/")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    out = await maria.http.post(
        "/console/logout", data={"csrf": found.group(1)}, headers=maria.origin
    )
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    # the old cookie is dead on the server, not merely deleted in this browser
    async with served.client() as replay:
        replay.cookies.set(SESSION_COOKIE, token, path="/console")
        assert (await replay.get("/console/api/queue")).status_code == 401


async def test_session_cookie_is_secure_behind_https(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    async with serve_console(tmp_path, sandbox, public_base_url="https://bot.example.com.br") as s:
        await s.add_agent("maria")
        agent = AgentClient(s)
        form = await agent.http.get("/console/login")
        assert "; secure" in form.headers["set-cookie"].lower()
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        # the Secure cookie would not travel over this test's plain http: hand it over
        agent.http.cookies.set("ozbot_console_login", token.group(1), path="/console/login")
        # the public origin is accepted as well as the one the request reached
        response = await agent.http.post(
            "/console/login",
            data={"csrf": token.group(1), "name": "maria", "password": PASSWORD},
            headers={"Origin": "https://bot.example.com.br"},
        )
        assert response.status_code == 303
        session = next(
            h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
        ).lower()
        assert "; secure" in session and "httponly" in session and "samesite=strict" in session
        await agent.aclose()


async def test_wrong_passwords_are_refused_and_throttled_per_account(served: Served) -> None:
    agent = AgentClient(served)
    assert (await agent.login("maria", "wrong password 1")).status_code == 401
    assert (await agent.login("nobody", PASSWORD)).status_code == 401
    for attempt in range(4):
        assert (await agent.login("maria", f"guess number {attempt}")).status_code == 401
    blocked = await agent.login("maria", PASSWORD)  # the right one, too late
    assert blocked.status_code == 429
    assert "espere" in blocked.text
    assert not any(
        h.startswith(SESSION_COOKIE + "=") for h in blocked.headers.get_list("set-cookie")
    )
    # another account from the same address is still heard
    assert (await agent.login("joao")).status_code == 303
    await agent.aclose()


async def test_login_form_needs_its_token_and_our_origin(served: Served) -> None:
    async with served.client() as http:
        form = await http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        fields = {"csrf": token.group(1), "name": "maria", "password": PASSWORD}
        evil = await http.post(
            "/console/login", data=fields, headers={"Origin": "https://evil.example"}
        )
        assert evil.status_code == 403
        forged = await http.post(
            "/console/login", data={**fields, "csrf": "forged"}, headers={"Origin": served.url}
        )
        assert forged.status_code == 403
        ok = await http.post("/console/login", data=fields, headers={"Origin": served.url})
        assert ok.status_code == 303


# -- CSRF on the API ----------------------------------------------------------------------------


async def test_posts_need_the_csrf_token_and_our_origin(served: Served, maria: AgentClient) -> None:
    ticket = await waiting_ticket(served, maria)
    claim = f"/console/api/tickets/{ticket}/claim"
    no_token = await maria.post(claim, **{"X-CSRF-Token": ""})
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["error"]
    other_site = await maria.post(claim, Origin="https://evil.example")
    assert other_site.status_code == 403 and "cross-site" in other_site.json()["error"]
    no_origin = await maria.http.post(claim, json={}, headers={"X-CSRF-Token": maria.csrf})
    assert no_origin.status_code == 403
    # none of them took the ticket
    assert [t["status"] for t in await maria.queue()] == ["waiting"]
    assert (await maria.post(claim)).status_code == 200


# -- the queue, claims and authorisation ---------------------------------------------------------


async def test_one_agent_per_conversation_and_only_the_holder_acts(
    served: Served, maria: AgentClient, joao: AgentClient
) -> None:
    ticket = await waiting_ticket(served, maria)
    base = f"/console/api/tickets/{ticket}"
    # before a claim nobody may act, only read
    assert (await maria.post(base + "/messages", {"text": "oi"})).status_code == 403
    assert (await joao.get(base)).status_code == 200

    assert (await maria.post(base + "/claim")).status_code == 200
    assert (await maria.post(base + "/claim")).status_code == 200  # a double click
    taken = await joao.post(base + "/claim")
    assert taken.status_code == 409 and "maria" in taken.json()["error"]

    for path, body in (
        ("/messages", {"text": "sou o João"}),
        ("/ozmap", {"action": "activate", "code": "OZB-AAAAAA"}),
        ("/release", {"outcome": "released"}),
    ):
        refused = await joao.post(base + path, body)
        assert refused.status_code == 403, path
    assert (await joao.get(base)).status_code == 403  # nor read a colleague's conversation
    assert not any("João" in text for text in served.fakes.telegram.texts(5501))
    (listed,) = await joao.queue()
    assert listed["status"] == "claimed" and listed["agent"] == "maria" and not listed["mine"]

    assert (await maria.post(base + "/messages", {"text": "Olá, sou a Maria"})).status_code == 200
    assert served.fakes.telegram.texts(5501)[-1] == "Olá, sou a Maria"
    detail = (await maria.get(base)).json()
    assert detail["can_act"] and detail["transcript"][-1] == {
        "role": "agent",
        "text": "Olá, sou a Maria",
        "at": detail["transcript"][-1]["at"],
    }


async def test_claims_race_and_exactly_one_agent_wins(
    served: Served, maria: AgentClient, joao: AgentClient
) -> None:
    ticket = await waiting_ticket(served, maria)
    claim = f"/console/api/tickets/{ticket}/claim"
    results = await asyncio.gather(maria.post(claim), joao.post(claim))
    assert sorted(r.status_code for r in results) == [200, 409]


async def test_hand_back_lets_the_bot_answer_again_and_closing_twice_conflicts(
    served: Served, maria: AgentClient
) -> None:
    customer = TelegramCustomer(served, 5502)
    ticket = await waiting_ticket(served, maria, chat_id=5502)
    base = f"/console/api/tickets/{ticket}"
    await maria.post(base + "/claim")
    await customer.says("ainda estou aqui")
    assert (await maria.get(base)).json()["transcript"][-1]["text"] == "ainda estou aqui"
    before = len(customer.received)
    done = await maria.post(base + "/release", {"outcome": "released"})
    assert done.status_code == 200
    assert len(customer.received) == before + 1  # told it is back with the bot
    again = await maria.post(base + "/release", {"outcome": "resolved"})
    assert again.status_code == 409
    assert (await maria.post(base + "/messages", {"text": "oi"})).status_code == 409
    await customer.says("oi")
    assert len(customer.received) == before + 2  # the bot answers again
    assert await maria.queue() == []


async def test_bad_requests_name_the_problem(served: Served, maria: AgentClient) -> None:
    ticket = await waiting_ticket(served, maria)
    base = f"/console/api/tickets/{ticket}"
    await maria.post(base + "/claim")
    assert (await maria.post(base + "/messages", {"text": "  "})).status_code == 400
    assert (await maria.post(base + "/messages", {"text": "x" * 5000})).status_code == 400
    wrong = await maria.post(base + "/release", {"outcome": "deleted"})
    assert wrong.status_code == 400 and "released" in wrong.json()["error"]
    assert (await maria.post(base + "/ozmap", {"action": "delete"})).status_code == 400
    assert (await maria.get("/console/api/tickets/99999")).status_code == 404


async def test_a_huge_ticket_id_or_a_deep_body_is_a_4xx_not_a_500(
    served: Served, maria: AgentClient
) -> None:
    huge = "/console/api/tickets/" + "9" * 40
    assert (await maria.get(huge)).status_code == 404
    for action in ("claim", "messages", "ozmap", "release"):
        assert (await maria.post(f"{huge}/{action}", {"text": "oi"})).status_code == 404
    ticket = await waiting_ticket(served, maria)
    base = f"/console/api/tickets/{ticket}"
    await maria.post(base + "/claim")
    deep = await maria.http.post(
        base + "/messages",
        content="[" * 5000 + "]" * 5000,
        headers={**maria.origin, "X-CSRF-Token": maria.csrf, "Content-Type": "application/json"},
    )
    assert deep.status_code == 400


# -- OZmap actions ------------------------------------------------------------------------------


async def test_ozmap_actions_on_the_conversations_own_reservation(
    served: Served, maria: AgentClient
) -> None:
    code = await reserve_then_ask_for_a_person(served, "5548991110001")
    (listed,) = await maria.queue()
    assert listed["customer"] == "Bruno Lima" and listed["channel"] == "whatsapp"
    base = f"/console/api/tickets/{listed['id']}"
    detail = (await maria.get(base)).json()
    labels = dict(detail["context"])
    assert labels["Endereço"].startswith("Rua Delminda Silveira, 900")
    assert "Coordenadas" in labels and labels["Viabilidade"].startswith("viável")
    assert [r["code"] for r in detail["reservations"]] == [code]
    assert (
        await maria.post(base + "/ozmap", {"action": "activate", "code": code})
    ).status_code == 403

    await maria.post(base + "/claim")
    client = served.sandbox.network.client_by_code(code)
    assert client is not None and client["implanted"] is False
    done = await maria.post(base + "/ozmap", {"action": "activate", "code": code})
    assert done.status_code == 200, done.text
    client = served.sandbox.network.client_by_code(code)
    assert client is not None and client["implanted"] is True
    assert (
        await maria.post(base + "/ozmap", {"action": "status_error", "code": code})
    ).status_code == 200
    client = served.sandbox.network.client_by_code(code)
    assert client is not None and client["status"] == 1
    assert (
        await maria.post(base + "/ozmap", {"action": "status_ok", "code": code})
    ).status_code == 200
    client = served.sandbox.network.client_by_code(code)
    assert client is not None and client["status"] == 0
    lines = [
        e["text"] for e in (await maria.get(base)).json()["transcript"] if e["role"] == "system"
    ]
    assert lines[-3:] == [
        f"[maria] reserva {code} ativada no OZmap (implantada)",
        f"[maria] status de {code} no OZmap: ERRO",
        f"[maria] status de {code} no OZmap: OK",
    ]

    # a code this conversation did not reserve is refused, whatever OZmap holds
    other = await maria.post(base + "/ozmap", {"action": "status_error", "code": "reserva_123"})
    assert other.status_code == 403


async def test_an_ozmap_outage_is_reported_not_hidden(served: Served, maria: AgentClient) -> None:
    code = await reserve_then_ask_for_a_person(served, "5548991110002")
    (listed,) = await maria.queue()
    base = f"/console/api/tickets/{listed['id']}"
    await maria.post(base + "/claim")
    with ozmap_down(served.sandbox):  # every OZmap request answered 503
        failed = await maria.post(base + "/ozmap", {"action": "activate", "code": code})
    assert failed.status_code == 502
    assert failed.json()["error"].startswith("OZmap did not do it")
    client = served.sandbox.network.client_by_code(code)
    assert client is not None and client["implanted"] is False
    transcript = (await maria.get(base)).json()["transcript"]
    assert not any(e["role"] == "system" and code in e["text"] for e in transcript)


async def test_a_reply_whatsapp_refuses_says_why(served: Served, maria: AgentClient) -> None:
    await WhatsappCustomer(served, "5548991110003").says("atendente")
    (listed,) = await maria.queue()
    base = f"/console/api/tickets/{listed['id']}"
    await maria.post(base + "/claim")
    served.fakes.twilio.fail_next(400, 63016, "Failed to send freeform message outside the window")
    refused = await maria.post(base + "/messages", {"text": "ainda está aí?"})
    assert refused.status_code == 502
    assert "24-hour window" in refused.json()["error"]
    assert not any("ainda está aí" in m.text for m in served.fakes.twilio.messages)
