"""Nothing lost: SMTP clients send a bounded load while the daemon is
SIGKILLed at random moments and restarted on the same data dir; every
message answered 250 must be delivered (at least once), and no delivery may
be truncated (an MDA outliving the daemon must not deliver a cut message).
Duplicates (deliveries done but not yet recorded when the daemon died) are
counted and printed, not asserted: their rate depends on machine load.
bench/no_loss/run.py runs the same with more mail and chasquid 1.11."""

from queueutil import run_no_loss


def test_nothing_lost_across_sigkill(chasquid_factory):
    c = chasquid_factory()
    r = run_no_loss(c, count=800, threads=4, kill_every=(0.2, 0.6),
                    settle_timeout=25)
    print("no-loss:", r)
    assert r["kills"] >= 3, r
    # Enough mail got through between kills for the test to mean something.
    assert r["accepted"] >= 200, r
    assert r["lost"] == [], r
    assert r["truncated"] == 0, r
