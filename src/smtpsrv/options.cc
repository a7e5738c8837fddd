#include "smtpsrv/options.h"

#include "config/abuse.h"

namespace chasquid::smtpsrv {

Options OptionsFrom(const Config& conf, const config::Testing& testing) {
  Options o;
  o.hostname = conf.hostname();
  o.max_data_size = static_cast<uint64_t>(conf.max_data_size_mb()) * 1048576;
  o.hooks_dir = "hooks";
  o.haproxy_incoming = conf.haproxy_incoming();
  o.suffix_separators = conf.suffix_separators();
  o.drop_characters = conf.drop_characters();
  o.max_received_headers = testing.max_received_headers;
  o.command_timeout = testing.command_timeout;
  o.connection_timeout = testing.connection_timeout;
  o.hook_timeout = testing.hook_timeout;
  o.max_connections = testing.max_connections;
  // Ours, for holding off abuse; already validated by config::Load.
  if (auto t = config::AuthThrottleOptions(conf); t.ok()) o.auth_throttle = *t;
  o.authorize_sender = conf.authorize_sender();
  o.authorize_header_from = conf.authorize_header_from();
  o.client_limits = config::ClientLimitsOptions(conf);
  o.send_brake = config::SendBrakeOptions(conf);
  return o;
}

}  // namespace chasquid::smtpsrv
