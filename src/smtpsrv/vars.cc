#include "smtpsrv/vars.h"

namespace chasquid::smtpsrv {

const Vars& GetVars() {
  static const Vars v = [] {
    constexpr const char* p = "chasquid/smtpIn/";
    auto name = [&](const char* n) { return std::string(p) + n; };
    Vars v;
    v.command_count = metrics::NewMap(name("commandCount"), "command",
                                      "count of SMTP commands received, by "
                                      "command");
    v.response_code_count =
        metrics::NewMap(name("responseCodeCount"), "code",
                        "response codes returned to SMTP commands");
    v.spf_result_count =
        metrics::NewMap(name("spfResultCount"), "result", "SPF result count");
    v.loops_detected =
        metrics::NewCounter(name("loopsDetected"), "count of loops detected");
    v.tls_count = metrics::NewMap(name("tlsCount"), "status",
                                  "count of TLS usage in incoming connections");
    v.tls_versions = metrics::NewMap(
        name("tlsVersions"), "version",
        "count of completed incoming TLS handshakes, by protocol version");
    v.auth_attempts = metrics::NewMap(name("authAttempts"), "mechanism",
                                      "count of AUTH commands, by mechanism");
    v.auth_success =
        metrics::NewMap(name("authSuccess"), "mechanism",
                        "count of successful AUTH commands, by mechanism");
    v.auth_failure = metrics::NewMap(
        name("authFailure"), "mechanism",
        "count of AUTH commands with wrong credentials, by mechanism");
    v.auth_error = metrics::NewMap(
        name("authError"), "mechanism",
        "count of AUTH commands that failed otherwise (malformed, unknown "
        "mechanism, authentication backend error), by mechanism");
    v.security_level_checks =
        metrics::NewMap(name("securityLevelChecks"), "result",
                        "incoming security level check results");
    v.hook_results = metrics::NewMap(name("hookResults"), "result",
                                     "count of hook invocations, by result");
    v.wrong_proto_count =
        metrics::NewMap(name("wrongProtoCount"), "command",
                        "count of commands for other protocols");
    v.dkim_signed = metrics::NewCounter(name("dkimSigned"),
                                        "count of successful DKIM signs");
    v.dkim_sign_errors = metrics::NewCounter(name("dkimSignErrors"),
                                             "count of DKIM sign errors");
    v.dkim_verify_found = metrics::NewCounter(
        name("dkimVerifyFound"),
        "count of messages with at least one DKIM signature");
    v.dkim_verify_not_found =
        metrics::NewCounter(name("dkimVerifyNotFound"),
                            "count of messages with no DKIM signatures");
    v.dkim_verify_valid = metrics::NewCounter(
        name("dkimVerifyValid"),
        "count of messages with at least one valid DKIM signature");
    v.dkim_verify_errors = metrics::NewCounter(
        name("dkimVerifyErrors"), "count of DKIM verification errors");
    v.auth_throttle = metrics::NewMap(
        name("authThrottle"), "result",
        "AUTH throttling events, by result: delayed, clientBlocked, "
        "userBlocked, refusedClient, refusedUser, spared, closed");
    v.sender_authorization = metrics::NewMap(
        name("senderAuthorization"), "result",
        "sender authorization checks of authenticated sessions, by result: "
        "own, alias, null, refused, headerOk, headerRefused");
    v.limit_refusals = metrics::NewMap(
        name("limitRefusals"), "limit",
        "refusals by the per-client and per-user limits, by limit: "
        "connectionsPerClient, newConnectionsPerClientMinute, "
        "messagesPerUserHour, recipientsPerUserHour");
    v.refused_out_of_fds = metrics::NewCounter(
        name("refusedOutOfFds"),
        "count of connections closed with 421 because the process had no "
        "file descriptor left for them");
    v.spooled_messages = metrics::NewCounter(
        name("spooledMessages"),
        "count of messages whose body was spooled to disk while received "
        "(larger than 128 KiB), instead of being held in memory");
    return v;
  }();
  return v;
}

void CountAuth(std::string_view params, int code) {
  const Vars& v = GetVars();
  std::string_view mech = params.substr(0, params.find(' '));
  // Only the mechanisms we offer become label values: a client must not
  // be able to create new time series.
  std::string_view key = "other";
  if (mech == "PLAIN" || mech == "LOGIN") key = mech;
  v.auth_attempts->Add(key);
  if (code == 235) {
    v.auth_success->Add(key);
  } else if (code == 535) {
    v.auth_failure->Add(key);
  } else {
    v.auth_error->Add(key);
  }
}

}  // namespace chasquid::smtpsrv
