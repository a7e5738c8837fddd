#include "courier/options.h"

namespace chasquid::courier {

SmtpOptions SmtpOptionsFrom(const Config& conf,
                            const config::Testing& testing) {
  SmtpOptions o;
  o.hostname = conf.hostname();
  o.port = testing.outgoing_smtp_port;
  o.dane = conf.dane();
  // Ours: the outgoing source addresses; CheckSourceAddrs says whether the
  // host has them.
  o.source = {conf.outgoing_source_ipv4(), conf.outgoing_source_ipv6()};
  o.session_timeout =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          testing.outgoing_session_timeout);
  return o;
}

}  // namespace chasquid::courier
