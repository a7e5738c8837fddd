#include "smtpsrv/addr.h"

namespace chasquid::smtpsrv {

std::string IpString(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped,
                                            a.to_v6())
        .to_string();
  }
  return a.to_string();
}

std::string JoinHostPort(const std::string& ip, uint16_t port) {
  if (ip.find(':') != std::string::npos) {
    return "[" + ip + "]:" + std::to_string(port);
  }
  return ip + ":" + std::to_string(port);
}

std::string EndpointString(const boost::asio::ip::tcp::endpoint& ep) {
  return JoinHostPort(IpString(ep.address()), ep.port());
}

std::string PeerAddr(const boost::asio::ip::tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  return EndpointString(ep);
}

std::string CanonicalIp(const std::string& ip) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(ip, ec);
  if (ec) return ip;
  return IpString(a);
}

std::string AddressLiteral(const std::string& ip) {
  if (ip.find(':') != std::string::npos) return "IPv6:" + ip;
  return ip;
}

}  // namespace chasquid::smtpsrv
