#include "tlsrpt/options.h"

namespace chasquid::tlsrpt {

ReporterOptions ReporterOptionsFrom(const Config& conf,
                                    const config::Testing& testing) {
  const auto& tc = conf.tls_reporting();
  ReporterOptions o;
  o.submitter = tc.submitter().empty() ? conf.hostname() : tc.submitter();
  o.from = tc.from_address().empty()
               ? std::string("tlsrpt-noreply@").append(conf.hostname())
               : tc.from_address();
  o.contact = tc.contact_info();
  o.period = testing.tlsrpt_period;
  return o;
}

}  // namespace chasquid::tlsrpt
