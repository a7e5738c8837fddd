// Peer address formatting as chasquid prints it: "ip:port", IPv6 as
// "[ip]:port", IPv4-mapped IPv6 as plain IPv4.
// Pure functions, thread-safe.
#pragma once

#ifndef CHASQUID_INSIDE_SMTPSRV
#error "smtpsrv/addr.h is private to smtpsrv/"
#endif

#include <cstdint>
#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace chasquid::smtpsrv {

std::string IpString(const boost::asio::ip::address& a);
std::string EndpointString(const boost::asio::ip::tcp::endpoint& ep);
// The remote endpoint of `s`, or "unknown" if it is gone.
std::string PeerAddr(const boost::asio::ip::tcp::socket& s);
// Re-formats a textual IP (from a PROXY line) canonically.
std::string CanonicalIp(const std::string& ip);
std::string JoinHostPort(const std::string& ip, uint16_t port);
// The Received "from" literal: "127.0.0.1" or "IPv6:::1".
std::string AddressLiteral(const std::string& ip);

}  // namespace chasquid::smtpsrv
