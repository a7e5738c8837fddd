// Fuzzes the DSN builder with a hostile original message (its header block
// is read for the Message-ID that the bounce quotes) and hostile envelope
// and error texts. The bounce's own header block must stay ours: a
// Message-ID in the original must not add a header line to the DSN.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "queue/dsn.h"

namespace {

// Envelope addresses come from SMTP commands: they never hold CR or LF.
std::string Addr(FuzzedDataProvider& in) {
  std::string s = in.ConsumeRandomLengthString(300);
  for (char& c : s) {
    if (c == '\r' || c == '\n') c = '_';
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace q = chasquid::queue;
  FuzzedDataProvider in(data, size);
  q::DSNParams p;
  p.from = Addr(in);
  p.is_local = [](const std::string& d) { return d == "local.example"; };
  p.id2 = "ID2ID2ID2ID";
  p.boundary = "BOUNDARYxyz";
  p.date = "Mon, 02 Jan 2006 15:04:05 -0700";
  int n = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < n; i++) {
    q::Recipient r;
    r.address = Addr(in);
    r.original_address = Addr(in);
    r.type = static_cast<q::Recipient::Type>(in.ConsumeIntegralInRange(0, 2));
    r.status =
        static_cast<q::Recipient::Status>(in.ConsumeIntegralInRange(0, 2));
    r.last_failure_message = in.ConsumeRandomLengthString(500);
    p.rcpt.push_back(std::move(r));
  }
  std::string msg = in.ConsumeRemainingBytesAsString();
  p.data = &msg;

  std::string id = q::MessageIDOf(msg);
  if (id.find('\n') != std::string::npos) __builtin_trap();
  std::string dsn = q::BuildDSN(p);
  // 11 header lines and one continuation (the boundary), then a blank line.
  size_t end = dsn.find("\n\n");
  if (end == std::string::npos) __builtin_trap();
  size_t lines = 0;
  for (size_t i = 0; i <= end; i++) lines += dsn[i] == '\n';
  if (lines != 12) __builtin_trap();
  if (!dsn.ends_with("\n\n--BOUNDARYxyz--\n")) __builtin_trap();
  return 0;
}
