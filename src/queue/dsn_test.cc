#include "queue/dsn.h"

#include <gtest/gtest.h>

namespace chasquid::queue {
namespace {

DSNParams Params(const std::string& from, const std::string& data) {
  static std::string d;
  d = data;
  DSNParams p;
  p.from = from;
  p.data = &d;
  p.is_local = [](const std::string& dom) { return dom == "testserver"; };
  p.id2 = "ID2ID2ID2ID";
  p.boundary = "BOUNDARYxyz";
  p.date = "Mon, 02 Jan 2006 15:04:05 -0700";
  return p;
}

Recipient R(std::string addr, Recipient::Type t, Recipient::Status s,
            std::string msg, std::string orig) {
  Recipient r;
  r.address = std::move(addr);
  r.type = t;
  r.status = s;
  r.last_failure_message = std::move(msg);
  r.original_address = std::move(orig);
  return r;
}

TEST(DSNTest, ExactFormat) {
  DSNParams p =
      Params("user@testserver", "Message-ID:  <abc@x>\nSubject: s\n\nbody\n");
  p.rcpt = {
      R("false", Recipient::Type::kPipe, Recipient::Status::kFailed,
        " exit status 1\n", "fail@testserver"),
      R("ok@testserver", Recipient::Type::kEmail, Recipient::Status::kSent, "",
        "ok@testserver"),
      R("r@far", Recipient::Type::kEmail, Recipient::Status::kPending,
        "timeout\nline2", "r@far"),
  };
  EXPECT_EQ(BuildDSN(p),
            "From: Mail Delivery System <postmaster-dsn@testserver>\n"
            "To: <user@testserver>\n"
            "Subject: Mail delivery failed: returning message to sender\n"
            "Message-ID: <chasquid-dsn-ID2ID2ID2ID@testserver>\n"
            "Date: Mon, 02 Jan 2006 15:04:05 -0700\n"
            "In-Reply-To: <abc@x>\n"
            "References: <abc@x>\n"
            "X-Failed-Recipients: fail@testserver, r@far, \n"
            "Auto-Submitted: auto-replied\n"
            "MIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=delivery-status;\n"
            "    boundary=\"BOUNDARYxyz\"\n"
            "\n"
            "\n"
            "--BOUNDARYxyz\n"
            "Content-Type: text/plain; charset=\"utf-8\"\n"
            "Content-Disposition: inline\n"
            "Content-Description: Notification\n"
            "Content-Transfer-Encoding: 8bit\n"
            "\n"
            "Delivery of your message to the following recipient(s) failed "
            "permanently:\n"
            "\n"
            "  - fail@testserver\n"
            "  - r@far\n"
            "\n"
            "\n"
            "Technical details:\n"
            "- \"false\" (PIPE) failed permanently with error:\n"
            "    exit status 1\n"
            "- \"r@far\" (EMAIL) failed repeatedly and timed out, last "
            "error:\n"
            "    timeout\n"
            "    line2\n"
            "\n"
            "\n"
            "--BOUNDARYxyz\n"
            "Content-Type: message/global-delivery-status\n"
            "Content-Description: Delivery Report\n"
            "Content-Transfer-Encoding: 8bit\n"
            "\n"
            "Reporting-MTA: dns; testserver\n"
            "\n"
            "Original-Recipient: utf-8; fail@testserver\n"
            "Final-Recipient: utf-8; false\n"
            "Action: failed\n"
            "Status: 5.0.0\n"
            "Diagnostic-Code: smtp; exit status 1\n"
            "\n"
            "Original-Recipient: utf-8; r@far\n"
            "Final-Recipient: utf-8; r@far\n"
            "Action: failed\n"
            "Status: 4.0.0\n"
            "Diagnostic-Code: smtp; timeout\n"
            "    line2\n"
            "\n"
            "\n"
            "\n"
            "--BOUNDARYxyz\n"
            "Content-Type: message/rfc822\n"
            "Content-Description: Undelivered Message\n"
            "Content-Transfer-Encoding: 8bit\n"
            "\n"
            "Message-ID:  <abc@x>\nSubject: s\n\nbody\n"
            "\n\n--BOUNDARYxyz--\n");
}

TEST(DSNTest, ReportingDomain) {
  DSNParams p = Params("a@far", "");
  EXPECT_EQ(ReportingDomain(p), "unknown");
  p.rcpt = {R("x", Recipient::Type::kEmail, Recipient::Status::kFailed, "",
              "b@elsewhere"),
            R("y", Recipient::Type::kEmail, Recipient::Status::kFailed, "",
              "c@testserver")};
  EXPECT_EQ(ReportingDomain(p), "testserver");
  p.from = "nodomain";
  EXPECT_EQ(ReportingDomain(p), "");
}

TEST(DSNTest, MessageID) {
  EXPECT_EQ(MessageIDOf("Subject: x\nmessage-id: \n  <a@b>\n\nMessage-ID: no"),
            "<a@b>");
  EXPECT_EQ(MessageIDOf("Subject: x\n\nMessage-ID: <body@x>\n"), "");
  EXPECT_EQ(MessageIDOf("not a header line\nMessage-ID: <a@b>\n"), "");
}

TEST(DSNTest, TruncatesOriginal) {
  DSNParams p = Params("a@testserver", std::string(300000, 'x'));
  std::string dsn = BuildDSN(p);
  EXPECT_NE(dsn.find(std::string(262144, 'x') + "\n\n--BOUNDARYxyz--\n"),
            std::string::npos);
  EXPECT_EQ(dsn.find(std::string(262145, 'x')), std::string::npos);
}

}  // namespace
}  // namespace chasquid::queue
