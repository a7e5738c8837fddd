#include "config/config.h"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "base/strings.h"
#include "config/abuse.h"
#include "prototext/prototext.h"

namespace chasquid::config {

Config Defaults() {
  Config c;
  c.set_max_data_size_mb(50);
  c.add_smtp_address("systemd");
  c.add_submission_address("systemd");
  c.add_submission_over_tls_address("systemd");
  c.set_mail_delivery_agent_bin("maildrop");
  for (const char* a : {"-f", "%from%", "-d", "%to_user%"}) {
    c.add_mail_delivery_agent_args(a);
  }
  c.set_data_dir("/var/lib/chasquid");
  c.set_suffix_separators("+");
  c.set_drop_characters(".");
  c.set_mail_log_path("<syslog>");
  c.set_max_queue_items(200);
  c.set_give_up_send_after("20h");
  return c;
}

Result<Config> ParseText(const std::string& text, const std::string& source) {
  Config c;
  google::protobuf::TextFormat::Parser parser;
  prototext::FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &c)) {
    std::string where = source.empty() ? "" : source + ":";
    return Status::Error(where + errors.Text());
  }
  return c;
}

void Merge(const Config& src, Config* dst) {
  auto str = [](const std::string& s, std::string* d) {
    if (!s.empty()) *d = s;
  };
  str(src.hostname(), dst->mutable_hostname());
  if (src.max_data_size_mb() > 0) {
    dst->set_max_data_size_mb(src.max_data_size_mb());
  }
  auto rep = [](const auto& s, auto* d) {
    if (!s.empty()) *d = s;
  };
  rep(src.smtp_address(), dst->mutable_smtp_address());
  rep(src.submission_address(), dst->mutable_submission_address());
  rep(src.submission_over_tls_address(),
      dst->mutable_submission_over_tls_address());
  str(src.monitoring_address(), dst->mutable_monitoring_address());
  str(src.mail_delivery_agent_bin(), dst->mutable_mail_delivery_agent_bin());
  rep(src.mail_delivery_agent_args(), dst->mutable_mail_delivery_agent_args());
  str(src.data_dir(), dst->mutable_data_dir());
  if (src.has_suffix_separators()) {
    dst->set_suffix_separators(src.suffix_separators());
  }
  if (src.has_drop_characters()) {
    dst->set_drop_characters(src.drop_characters());
  }
  str(src.mail_log_path(), dst->mutable_mail_log_path());
  if (src.dovecot_auth()) dst->set_dovecot_auth(true);
  str(src.dovecot_userdb_path(), dst->mutable_dovecot_userdb_path());
  str(src.dovecot_client_path(), dst->mutable_dovecot_client_path());
  if (src.haproxy_incoming()) dst->set_haproxy_incoming(true);
  if (src.max_queue_items() > 0) {
    dst->set_max_queue_items(src.max_queue_items());
  }
  str(src.give_up_send_after(), dst->mutable_give_up_send_after());
  // Ours (field numbers from 100).
  str(src.outgoing_source_ipv4(), dst->mutable_outgoing_source_ipv4());
  str(src.outgoing_source_ipv6(), dst->mutable_outgoing_source_ipv6());
  // Ours: field by field, so an override can change one limit.
  if (src.has_auth_throttle()) {
    dst->mutable_auth_throttle()->MergeFrom(src.auth_throttle());
  }
  if (src.authorize_sender()) dst->set_authorize_sender(true);
  if (src.authorize_header_from()) dst->set_authorize_header_from(true);
  if (src.has_max_connections_per_client()) {
    dst->set_max_connections_per_client(src.max_connections_per_client());
  }
  if (src.has_max_new_connections_per_client_minute()) {
    dst->set_max_new_connections_per_client_minute(
        src.max_new_connections_per_client_minute());
  }
  if (src.has_max_messages_per_user_hour()) {
    dst->set_max_messages_per_user_hour(src.max_messages_per_user_hour());
  }
  if (src.has_max_recipients_per_user_hour()) {
    dst->set_max_recipients_per_user_hour(src.max_recipients_per_user_hour());
  }
  if (src.dane()) dst->set_dane(true);  // Ours: DANE (140).

  if (src.has_tls_reporting()) {
    dst->mutable_tls_reporting()->MergeFrom(src.tls_reporting());
  }
}

Result<Config> Load(const std::string& path, const std::string& overrides) {
  std::ifstream f(path);
  if (!f) {
    return Status::Error("failed to read config at " + GoQuote(path) + ": " +
                         PathError("open", path, errno));
  }
  std::stringstream buf;
  buf << f.rdbuf();
  auto from_file = ParseText(buf.str(), path);
  if (!from_file.ok()) {
    return from_file.status().Prefixed("parsing config: ");
  }
  Config c = Defaults();
  Merge(*from_file, &c);
  if (!overrides.empty()) {
    auto over = ParseText(overrides, "");
    if (!over.ok()) return over.status().Prefixed("parsing override: ");
    Merge(*over, &c);
  }
  if (c.hostname().empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0) {
      return Status::Error("could not get hostname: " + ErrnoText(errno));
    }
    c.set_hostname(host);
  }
  auto d = ParseGoDuration(c.give_up_send_after());
  if (!d.ok()) {
    return Status::Error("invalid give_up_send_after value " +
                         GoQuote(c.give_up_send_after()) + ": " +
                         d.status().message());
  }
  if (Status s = ValidateAbuse(c); !s.ok()) return s;
  return c;
}

std::string ToText(const Config& c) {
  google::protobuf::TextFormat::Printer p;
  p.SetUseUtf8StringEscaping(true);
  std::string out;
  p.PrintToString(c, &out);
  return out;
}

std::string LogLines(const Config& c) {
  std::string out;
  for (const std::string& line : Split(ToText(c), "\n")) {
    if (!line.empty()) out += "  " + line + "\n";
  }
  return out;
}

std::chrono::nanoseconds GiveUpSendAfter(const Config& c) {
  auto d = ParseGoDuration(c.give_up_send_after());
  return d.ok() ? *d : std::chrono::hours(20);
}

}  // namespace chasquid::config
