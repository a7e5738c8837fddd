"""AUTH throttling against the real daemon, over loopback.

A password guesser at 127.0.0.2 reconnects for every guess, as a real one
does to get around the three-errors-per-connection limit; meanwhile the
real user logs in from 127.0.0.1. With the default limits the guesser's
later failures are delayed, it is blocked after ten, its AUTHs are then
refused without the password being looked at (the right password
included), and a client that insists on one connection is hung up on; the
real user never notices. Then the per-user limit, spread over several
addresses, and its floor: the address that recently logged in as that user
is spared.

Everything is bounded: a fixed number of attempts, each with a socket
timeout, and the whole guessing loop under a deadline.
"""

import base64
import smtplib
import time

from smtputil import insecure_ctx

PASSWORD = "the-real-password"
USER = "user@testserver"


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def auth_once(c, src, password, user=USER):
    """One connection from `src`: STARTTLS, one AUTH PLAIN; (code, text)."""
    with smtplib.SMTP("127.0.0.1", c.submission_port, timeout=30,
                      source_address=(src, 0)) as s:
        s.starttls(context=insecure_ctx())
        code, text = s.docmd("AUTH", "PLAIN " + plain(user, password))
        return code, text.decode()


def test_guessing_loop_is_throttled_real_user_is_not(chasquid_factory):
    c = chasquid_factory()
    c.add_user("user", "testserver", PASSWORD)
    c.start(wait_port=c.submission_port)

    replies, took = [], []
    deadline = time.monotonic() + 120
    for i in range(14):
        assert time.monotonic() < deadline, replies
        t0 = time.monotonic()
        replies.append(auth_once(c, "127.0.0.2", f"guess-{i}"))
        took.append(time.monotonic() - t0)
        # The real user, from its own address, in between the guesses.
        assert auth_once(c, "127.0.0.1", PASSWORD) == (
            235, "2.7.0 Authentication successful"), i

    wrong = (535, "5.7.8 Incorrect user or password")
    refused = (454, "4.7.0 Too many failed authentications from your "
               "address, try again later")
    assert replies == [wrong] * 10 + [refused] * 4
    # Failures 6 to 10 waited 0.5, 1, 2, 4 and 4 seconds; the first five
    # and the refusals did not wait.
    assert sum(took[5:10]) >= 11.5, took
    assert max(took[:5] + took[10:]) < sum(took[5:10]) / 2, took

    # Blocked means the password is not even looked at.
    assert auth_once(c, "127.0.0.2", PASSWORD) == refused
    # A blocked client that keeps going on the same connection is told
    # 421 and hung up on.
    with smtplib.SMTP("127.0.0.1", c.submission_port, timeout=30,
                      source_address=("127.0.0.2", 0)) as s:
        s.starttls(context=insecure_ctx())
        assert s.docmd("AUTH", "PLAIN " + plain(USER, "x")) == (
            454, refused[1].encode())
        assert s.docmd("AUTH", "PLAIN " + plain(USER, "y")) == (
            421, b"4.7.0 Too many failed authentications, closing "
                 b"connection")
        try:
            assert s.docmd("NOOP")[0] != 250
        except smtplib.SMTPServerDisconnected:
            pass

    def throttle(key):
        return c.var("chasquid/smtpIn/authThrottle", key)
    assert throttle("delayed") == 5
    assert throttle("clientBlocked") == 1
    assert throttle("refusedClient") == 4 + 1 + 2
    assert throttle("closed") == 1
    assert throttle("userBlocked") == 0

    log = (c.root / "mail.log").read_text().splitlines()
    refusals = [l for l in log if " auth refused for " in l]
    assert len(refusals) == 7, log
    assert all(l.split()[2].startswith("127.0.0.2:") and l.endswith(
        f" auth refused for {USER} - too many failures from this client")
        for l in refusals), refusals
    assert not [l for l in log if "127.0.0.1:" in l and " auth " in l
                and " succeeded " not in l]
    # The trace says which rule fired.
    assert "auth throttle: rule client fired" in c.log()


def test_user_limit_spares_the_address_that_logged_in(chasquid_factory):
    # Small limits, no delays: three attacking addresses reach the user
    # limit without any of them reaching its own.
    c = chasquid_factory(extra_conf=(
        "auth_throttle: { ip_failures: 3 user_failures: 6 "
        "delay_after: 100 }\n"))
    c.add_user("user", "testserver", PASSWORD)
    c.start(wait_port=c.submission_port)

    ok = (235, "2.7.0 Authentication successful")
    assert auth_once(c, "127.0.0.1", PASSWORD) == ok
    for src in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        for i in range(2):
            assert auth_once(c, src, f"guess-{i}")[0] == 535
    assert c.var("chasquid/smtpIn/authThrottle", "userBlocked") == 1
    assert c.var("chasquid/smtpIn/authThrottle", "clientBlocked") == 0

    # A new address is refused for that user even with the right password;
    # other users are untouched.
    user_refused = (454, "4.7.0 Too many failed authentications for this "
                    "user, try again later")
    assert auth_once(c, "127.0.0.5", PASSWORD) == user_refused
    assert auth_once(c, "127.0.0.5", "x", user="other@testserver")[0] == 535
    # The address that logged in recently is spared: its password is
    # checked, and it gets in.
    assert auth_once(c, "127.0.0.1", PASSWORD) == ok
    assert c.var("chasquid/smtpIn/authThrottle", "spared") == 1
    assert c.var("chasquid/smtpIn/authThrottle", "refusedUser") == 1
    assert "auth throttle: rule user fired" in c.log()
    log = (c.root / "mail.log").read_text()
    assert (f" auth refused for {USER} - too many failures for this user"
            in log)


def test_throttle_can_be_turned_off(chasquid_factory):
    c = chasquid_factory(extra_conf="auth_throttle: { enabled: false }\n")
    c.add_user("user", "testserver", PASSWORD)
    c.start(wait_port=c.submission_port)
    for i in range(12):
        assert auth_once(c, "127.0.0.2", f"guess-{i}")[0] == 535
    assert auth_once(c, "127.0.0.2", PASSWORD)[0] == 235
    assert c.var("chasquid/smtpIn/authThrottle") == {}
