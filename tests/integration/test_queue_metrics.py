"""The queue's latency variables (chasquid-cpp additions, src/metrics/
latency.h): chasquid/queue/length, deliverAttemptDuration and
timeToDelivery move with real deliveries, on /debug/vars and /metrics."""

import smtplib
import time

from queueutil import setup_mda, mda_env, write_item, wait_for, delivered

# Like queueutil's MDA, but "slow*" recipients wait until $MDA_DIR/release
# exists (at most 20 s), so the test can look at the queue meanwhile.
SLOW_MDA = r"""#!/bin/sh
from="$1"; to="$2"
case "$to" in
  temp*) echo "try later"; exit 75;;
  slow*) : > "$MDA_DIR/blocked.$to"
         i=0; while [ ! -e "$MDA_DIR/release" ] && [ $i -lt 400 ]; do
           sleep 0.05; i=$((i+1)); done;;
esac
n=$(date +%s%N)
cat > "$MDA_DIR/.tmp.$to.$n" && mv "$MDA_DIR/.tmp.$to.$n" "$MDA_DIR/$to.$n"
"""


def test_latency_metrics_move(chasquid_factory):
    c = chasquid_factory()
    maildir = setup_mda(c)
    (c.root / "test-mda").write_text(SLOW_MDA)
    c.add_user("slow", "testserver", "pw")
    # An item left from before, 100 s old, for a user whose MDA always
    # says "try later": it stays queued, so loading is seen by the gauge.
    write_item(c, "oldtemp1", "someone@far",
               [("temp@testserver", "EMAIL", "temp@testserver")],
               "Subject: old\n\nx\n", created=int(time.time()) - 100)
    # And an old one that is delivered: its time to delivery counts from
    # its stored creation time, not from the load.
    write_item(c, "olduser1", "someone@far",
               [("slow2@testserver", "EMAIL", "slow2@testserver")],
               "Subject: old2\n\nx\n", created=int(time.time()) - 100)
    (maildir / "release").write_text("")
    c.start(env=mda_env(maildir), wait_port=c.smtp_port)

    wait_for(lambda: delivered(maildir, "slow2@testserver"),
             what="delivery of the loaded item")
    wait_for(lambda: c.var("chasquid/queue/length") == 1,
             what="queue length 1 (the temp item)")
    ttd = c.var("chasquid/queue/timeToDelivery", "email:local")
    assert ttd["le=+Inf"] == 1 and ttd["sum"] >= 99, ttd

    # A new message whose delivery blocks: the gauge counts it while the
    # attempt runs; the attempt's duration covers the wait.
    (maildir / "release").unlink()
    with smtplib.SMTP("127.0.0.1", c.smtp_port, timeout=10) as s:
        s.sendmail("a@example.net", ["slow@testserver"],
                   b"Subject: new\r\n\r\nhello\r\n")
    # Put fsync'd the queue directory after placing the item.
    assert c.var("chasquid/queue/dirSyncs") >= 1
    t0 = time.monotonic()
    wait_for(lambda: c.var("chasquid/queue/length") == 2,
             what="queue length 2")
    wait_for(lambda: (maildir / "blocked.slow@testserver").exists(),
             what="the MDA to hold the attempt")
    # Held for a known time, which the attempt's duration must cover.
    time.sleep(0.3)
    (maildir / "release").write_text("")
    wait_for(lambda: delivered(maildir, "slow@testserver"),
             what="delivery of the new message")
    waited = time.monotonic() - t0
    wait_for(lambda: c.var("chasquid/queue/length") == 1,
             what="queue length back to 1")

    dur = c.var("chasquid/queue/deliverAttemptDuration", "email:local")
    # temp (at least once), slow2, slow.
    assert dur["le=+Inf"] >= 3, dur
    assert dur["sum"] >= 0.3, dur
    ttd = c.var("chasquid/queue/timeToDelivery", "email:local")
    assert ttd["le=+Inf"] == 2, ttd
    assert 99 + 0.3 <= ttd["sum"] <= 150 + waited, ttd

    _, _, body = c.get("/metrics")
    text = body.decode()
    assert "chasquid_queue_length 1" in text
    assert ('chasquid_queue_timeToDelivery_count{recipient_type='
            '"email:local"} 2') in text
    assert 'chasquid_queue_deliverAttemptDuration_bucket{' in text
