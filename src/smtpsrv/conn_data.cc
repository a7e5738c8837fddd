// DATA and the pipeline after it: loop check,
// DKIM (through the Checks seam), trace headers, the post-data hook, the
// queue, the final reply.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "base/async.h"
#include "base/strings.h"
#include "maillog/maillog.h"
#include "process/process.h"
#include "queue/queue.h"
#include "safeio/spool.h"
#include "smtp/dotreader.h"
#include "smtp/headers.h"
#include "smtpsrv/addr.h"
#include "smtpsrv/conn.h"
#include "smtpsrv/hook.h"
#include "smtpsrv/vars.h"
#include "tlsrpt/tlsrpt.h"

namespace chasquid::smtpsrv {

namespace {

// Bytes asked from the socket per read during DATA.
constexpr size_t kDataChunk = 16 * 1024;

std::string Env(const char* name) {
  const char* v = getenv(name);
  return std::string(name) + "=" + (v ? v : "");
}

const char* Ascension() {
  static const char* const kPhrases[] = {
      "You offer the Amulet of Yendor to Anhur...",
      "An invisible choir sings, and you are bathed in radiance...",
      "The voice of Anhur booms out: Congratulations, mortal!",
      "In return to thy service, I grant thee the gift of Immortality!",
      "You ascend to the status of Demigod(dess)..."};
  thread_local std::minstd_rand rng{std::random_device{}()};
  return kPhrases[rng() % 5];
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); i++) s += (i ? " " : "") + v[i];
  return s;
}

}  // namespace

net::awaitable<Conn::Reply> Conn::Data() {
  if (ehlo_domain_.empty()) {
    co_return Reply{503, "5.5.1 Invisible customers are not welcome!"};
  }
  if (!has_sender_) co_return Reply{503, "5.5.1 Sender not yet given"};
  if (rcpt_to_.empty())
    co_return Reply{503, "5.5.1 Need an address to send to"};

  std::string go_ahead = "You suddenly realize it is unnaturally quiet";
  Status s = co_await WriteReply(354, std::move(go_ahead));
  if (!s.ok()) {
    co_return Reply{554, "5.4.0 Error writing DATA response: " + s.message()};
  }
  GetVars().tls_count->Add(on_tls_ ? "tls" : "plain");

  // The whole body shares the connection's absolute deadline.
  io_deadline_.Set(deadline_);
  task_.SetState("reading DATA");
  // The body goes to a file as it arrives, a chunk at a time (after
  // dot-unstuffing), so memory does not grow with the message: only the
  // headers we add stay in memory. A spool that cannot be made or
  // written still lets the body be read to its end: the client gets the
  // queue's 451 after it, not a broken dialog.
  std::shared_ptr<safeio::Spool> spool;
  std::string spool_error = "no queue";
  if (deps_.queue) {
    auto made = deps_.queue->NewSpool();
    if (made.ok()) {
      spool = std::move(*made);
    } else {
      spool_error = made.status().message();
    }
  }
  smtp::DotReader reader(opts_.max_data_size);
  auto take = [&]() {
    size_t n = reader.Feed(inbuf_);
    inbuf_.erase(0, n);
    if (spool && !reader.data().empty()) (void)spool->Append(reader.data());
    reader.data().clear();  // Keeps its capacity: one chunk, reused.
  };
  take();
  while (reader.state() == smtp::DotReader::State::kMore) {
    auto ec = co_await ReadSome(kDataChunk);
    if (ec) {
      inbuf_.clear();
      inbuf_.shrink_to_fit();
      std::string err =
          ec == net::error::eof ? "unexpected EOF" : ReadErrorText(ec);
      // Nothing more can come from this connection: close it after the
      // reply, rather than wait for a command until the timeout (a client
      // that half-closed mid-DATA held its connection for a minute; found
      // by session_fuzz).
      close_after_reply_ = true;
      co_return Reply{554, "5.4.0 Error reading DATA: " + err};
    }
    take();
  }
  // What follows the terminator (pipelined commands) stays in inbuf_;
  // the 16 KiB read buffer itself is released.
  inbuf_.shrink_to_fit();
  reader.data().shrink_to_fit();

  if (reader.state() == smtp::DotReader::State::kInvalidLineEnding) {
    // SMTP smuggling protection (CVE-2023-52354): a bare CR or LF is a
    // protocol error, and after it we cannot know where the body ends.
    std::string bye = "5.5.2 Error reading DATA: invalid line ending";
    (void)co_await WriteReply(521, std::move(bye));
    co_return Reply{-1, "Invalid line ending, closing connection"};
  }
  if (reader.too_big()) co_return Reply{552, "5.3.4 Message too big"};
  if (!deps_.queue) {
    co_return Reply{451, "4.3.0 Failed to queue message: no queue"};
  }
  if (!spool) {
    co_return Reply{451, "4.3.0 Failed to queue message: " + spool_error};
  }
  if (!spool->in_memory()) {
    GetVars().spooled_messages->Add();
    tr_.Debugf("DATA spooled to " + spool->path() + ": " +
               std::to_string(spool->size()) + " bytes");
  }
  if (!spool->error().ok()) {
    // The queue reports (and counts) the failed write as its own.
    std::string from = mail_from_;
    std::vector<std::string> to = rcpt_to_;
    auto head = std::make_shared<const std::string>();
    std::shared_ptr<const safeio::Spool> body = std::move(spool);
    queue::Queue::PutOptions put_opts;
    put_opts.require_tls = require_tls_;
    auto id = co_await deps_.queue->PutSpooled(std::move(from), std::move(to),
                                               std::move(head), std::move(body),
                                               put_opts);
    co_return Reply{451,
                    "4.3.0 Failed to queue message: " + id.status().message()};
  }
  co_return co_await ProcessData(std::move(spool));
}

namespace {

// The header block, for the checks that read only headers. A block
// larger than this (pathological) is read with the whole message.
constexpr size_t kMaxHeaderBlock = 1 << 20;

Result<std::string> HeadersOf(const safeio::Spool& spool) {
  auto h = spool.HeaderBlock(kMaxHeaderBlock);
  if (!h.ok() || h->size() < kMaxHeaderBlock) return h;
  return spool.ReadAll();
}

// What follows `from` in the spool, 64 KiB at a time, for the DKIM body
// hashes.
Checks::ChunkReader SpoolReader(std::shared_ptr<const safeio::Spool> body,
                                uint64_t from) {
  return [body, from](const auto& fn) -> Status {
    std::string piece;
    for (uint64_t off = from; off < body->size(); off += piece.size()) {
      if (Status s = body->ReadAt(off, 64 * 1024, &piece); !s.ok()) return s;
      if (Status s = fn(piece); !s.ok()) return s;
    }
    return Status::Ok();
  };
}

bool HasDkimSignature(const std::string& headers) {
  // Loose on purpose (any mention, any case): a miss would verify a
  // signed message without its body; a false hit only costs memory.
  std::string lower = AsciiToLower(headers);
  return lower.find("dkim-signature") != std::string::npos;
}

}  // namespace

net::awaitable<Conn::Reply> Conn::ProcessData(
    std::shared_ptr<safeio::Spool> spool) {
  // What we add goes in `head`, in memory; the body stays in the spool.
  std::string head;
  auto headers = HeadersOf(*spool);
  if (!headers.ok()) {
    co_return Reply{
        451, "4.3.0 Failed to queue message: " + headers.status().message()};
  }
  // 1. Parse and loop detection.
  auto received = smtp::CountReceivedHeaders(*headers);
  if (!received.ok()) {
    std::string text =
        "5.6.0 Error parsing message: " + received.status().message();
    LogRejected(mail_from_, rcpt_to_, text);
    co_return Reply{554, text};
  }
  if (*received > opts_.max_received_headers) {
    GetVars().loops_detected->Add();
    std::string text = "5.4.6 Loop detected (" +
                       std::to_string(opts_.max_received_headers) + " hops)";
    LogRejected(mail_from_, rcpt_to_, text);
    co_return Reply{554, text};
  }

  // Sender authorization of the header (ours; off by default), before
  // anything is added to the message.
  if (opts_.authorize_header_from) {
    std::string block = headers->substr(0, headers->find("\n\n"));
    auto refused = co_await AuthorizeHeaderFrom(std::move(block));
    if (refused) co_return *refused;
  }

  // 2. DKIM, through the Checks seam. Both need the body's hash, which
  // is computed as the body streams from the spool.
  if (deps_.checks) {
    if (completed_auth_) {
      size_t at = mail_from_.find('@');
      std::string from_domain;
      if (at != std::string::npos) from_domain = mail_from_.substr(at + 1);
      if (mail_from_ != "<>" && deps_.checks->HasDkimKeys(from_domain)) {
        task_.SetState("DKIM signing");
        // The body streams from the spool into the body hash; signing
        // only prepends its headers.
        std::string block = *headers;
        auto signing = deps_.checks->DkimSignStream(
            std::move(from_domain), std::move(block),
            SpoolReader(spool, headers->size()), &tr_);
        auto added = co_await std::move(signing);
        if (!added.ok()) {
          GetVars().dkim_sign_errors->Add();
          tr_.Error("DKIM signing failed: " + added.status().message());
          co_return Reply{451, "4.3.0 DKIM signing failed"};
        }
        if (!added->empty()) GetVars().dkim_signed->Add();
        head = std::move(*added);
      }
    } else {
      task_.SetState("DKIM verification");
      std::optional<std::string> r;
      if (HasDkimSignature(*headers)) {
        // The body streams from the spool into the body hashes.
        std::string block = *headers;
        bool on_disk = !spool->in_memory();
        auto verifying = deps_.checks->DkimVerifyStream(
            std::move(block), SpoolReader(spool, headers->size()), on_disk,
            &tr_);
        r = co_await std::move(verifying);
      } else {
        // No signature: the result ("none") comes from the headers alone.
        auto copy = std::make_shared<const std::string>(*headers);
        auto verifying = deps_.checks->DkimVerify(std::move(copy), &tr_);
        r = co_await std::move(verifying);
      }
      // Unparseable: no DKIM result for this message, not
      // the previous message's.
      dkim_verify_ = r ? std::make_unique<std::string>(std::move(*r)) : nullptr;
    }
  }
  headers = std::string();

  // 3. Trace headers, each prepended.
  smtp::PrependHeader(&head, "Received", ReceivedHeader());
  if (spf_) {
    smtp::PrependHeader(&head, "Received-SPF",
                        spf_->result + " (" + spf_->explanation + ")");
  }
  if (spf_ || dkim_verify_) {
    // Built with CRLF as chasquid does, but stored with LF line breaks:
    // chasquid leaves "\r\n\t" inside its LF message (a stray CR that
    // hooks and local mailboxes see); on the wire both are the same.
    std::string v = hostname_ + "\r\n";
    if (spf_) {
      v += ";spf=" + spf_->result + " (" + spf_->explanation + ")\r\n";
    }
    if (dkim_verify_) v += *dkim_verify_;
    std::string lf;
    for (char c : TrimSpace(v)) {
      if (c == '\n' && !lf.empty() && lf.back() == '\r') lf.pop_back();
      lf += c;
    }
    smtp::PrependHeader(&head, "Authentication-Results", lf);
  }

  // 4. The post-data hook.
  auto hook = co_await PostDataHook(&head, spool);
  if (hook) co_return *hook;

  // 5. The queue: it owns the message once PutSpooled returns.
  task_.SetState("queueing");
  // Arguments named first (GCC 12 and co_await temporaries: base/async.h).
  std::string from = mail_from_;
  std::vector<std::string> to = rcpt_to_;
  auto msg = std::make_shared<const std::string>(std::move(head));
  std::shared_ptr<const safeio::Spool> body = std::move(spool);
  queue::Queue::PutOptions put_opts;
  put_opts.require_tls = require_tls_;
  auto id = co_await deps_.queue->PutSpooled(std::move(from), std::move(to),
                                             std::move(msg), std::move(body),
                                             put_opts);
  if (!id.ok()) {
    co_return Reply{451,
                    "4.3.0 Failed to queue message: " + id.status().message()};
  }
  tr_.Printf("Queued from " + mail_from_ + " to [" + Join(rcpt_to_) + "] - " +
             *id);
  MailLog().Queued(remote_addr_, mail_from_, rcpt_to_, *id);
  if (require_tls_) tlsrpt::RequireTlsCount()->Add("accepted");
  CountSent();
  ResetEnvelope();
  co_return Reply{250, std::string("2.0.0 ") + Ascension()};
}

std::string Conn::ReceivedHeader() const {
  std::string v = "from " + ehlo_domain_;
  if (!completed_auth_) v += " ([" + AddressLiteral(remote_ip_) + "])";
  std::string with = is_esmtp_ ? "ESMTP" : "SMTP";
  if (on_tls_) with += "S";
  if (completed_auth_) with += "A";
  v += "\nby " + hostname_ + " (chasquid) with " + with + "\n";
  if (on_tls_) v += "tls " + session_->tls_cipher + "\n";
  v += std::string("(over ") + ModeName(mode_) + ", " +
       (on_tls_ ? session_->tls_version : "plain text!") + ", envelope from " +
       GoQuote(mail_from_) + ")\n";
  v += "; " + Rfc1123ZNow() + "\n";
  return v;
}

net::awaitable<std::optional<Conn::Reply>> Conn::PostDataHook(
    std::string* head, std::shared_ptr<safeio::Spool> body) {
  std::string path = opts_.hooks_dir + "/post-data";
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    GetVars().hook_results->Add("post-data:skip");
    co_return std::nullopt;
  }
  std::string from_domain;
  size_t at = mail_from_.find('@');
  if (at != std::string::npos) from_domain = mail_from_.substr(at + 1);
  bool from_local =
      from_domain.empty() || deps_.local_domains.count(from_domain) > 0;
  std::vector<std::string> env = {
      Env("USER"),
      Env("PWD"),
      Env("SHELL"),
      Env("PATH"),
      "REMOTE_ADDR=" + remote_addr_,
      "EHLO_DOMAIN=" + SanitizeEhloDomain(ehlo_domain_),
      "EHLO_DOMAIN_RAW=" + ehlo_domain_,
      "MAIL_FROM=" + mail_from_,
      "RCPT_TO=" + Join(rcpt_to_),
      "AUTH_AS=" + (completed_auth_
                        ? session_->auth_user + "@" + session_->auth_domain
                        : ""),
      std::string("ON_TLS=") + (on_tls_ ? "1" : "0"),
      std::string("FROM_LOCAL_DOMAIN=") + (from_local ? "1" : "0"),
      std::string("SPF_PASS=") + (spf_ && spf_->result == "pass" ? "1" : "0"),
  };
  task_.SetState("post-data hook");
  // The same runner as the MDAs: the hook dies with the daemon, inherits
  // no descriptor, and on timeout its whole process group is killed. Its
  // exit is awaited, so no thread waits for it.
  process::Options o;
  o.argv = {path};
  o.env = std::move(env);
  // The message as a file: `head`, then the spool (a copy on disk, gone
  // when the hook is done), never whole in memory.
  auto copy = body->Materialize(*head, /*crlf=*/false);
  if (!copy.ok()) {
    co_return Reply{
        451, "4.3.0 Failed to queue message: " + copy.status().message()};
  }
  int stdin_fd = *copy;
  o.stdin_fd = stdin_fd;
  o.timeout = opts_.hook_timeout;
  o.stderr_apart = true;
  auto running = process::Run(std::move(o));
  process::Outcome run = co_await std::move(running);
  close(stdin_fd);
  if (run.ok()) {
    if (!LooksLikeHeaders(run.output)) {
      GetVars().hook_results->Add("post-data:badoutput");
      tr_.Error("post-data hook output looks bad: " + run.output);
      co_return std::nullopt;
    }
    GetVars().hook_results->Add("post-data:success");
    head->insert(0, run.output);
    co_return std::nullopt;
  }
  GetVars().hook_results->Add("post-data:fail");
  tr_.Error("post-data hook error: " + run.error +
            (run.timed_out ? " (timed out)" : "") + " stdout: " + run.output +
            " stderr: " + run.error_output);
  std::string text = HookErrorText(run.output);
  LogRejected(mail_from_, rcpt_to_, text);
  co_return Reply{run.exit_code == 20 ? 554 : 451, text};
}

}  // namespace chasquid::smtpsrv
