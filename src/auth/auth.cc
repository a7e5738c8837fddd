#include "auth/auth.h"

#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <thread>

#include "base/strings.h"
#include "nettrace/trace.h"

namespace chasquid::auth {

namespace {

std::string BoolErr(const Result<bool>& r) {
  if (!r.ok()) return "false " + r.status().message();
  return *r ? "true <nil>" : "false <nil>";
}

// Sleeps so that the call lasts `target` + random 0-20 % of what remains,
// as chasquid does, so the outcome cannot be told from the timing.
void Pad(std::chrono::steady_clock::time_point start,
         std::chrono::nanoseconds target) {
  auto elapsed = std::chrono::steady_clock::now() - start;
  auto delay = target - elapsed;
  if (delay <= std::chrono::nanoseconds::zero()) return;
  thread_local std::mt19937_64 rng(std::random_device{}());
  int64_t max_delta = static_cast<int64_t>(
      static_cast<double>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count()) *
      0.2);
  std::uniform_int_distribution<int64_t> dist(0, max_delta);
  std::this_thread::sleep_for(delay + std::chrono::nanoseconds(dist(rng)));
}

}  // namespace

struct Authenticator::Impl {
  std::shared_mutex mu;
  std::map<std::string, std::unique_ptr<Backend>> backends;
  std::unique_ptr<Backend> fallback;
  std::chrono::nanoseconds auth_duration = std::chrono::milliseconds(100);

  // Looks up domain, then the fallback; `call` runs one backend.
  template <typename Fn>
  Result<bool> Ask(nettrace::Trace& tr, const std::string& user,
                   const std::string& domain, Fn call) {
    std::shared_lock<std::shared_mutex> l(mu);
    auto it = backends.find(domain);
    if (it != backends.end()) {
      Result<bool> r = call(*it->second, user);
      tr.Debugf("backend: " + BoolErr(r));
      if (!r.ok() || *r) return r;
    }
    if (fallback) {
      std::string id = domain.empty() ? user : user + "@" + domain;
      Result<bool> r = call(*fallback, id);
      tr.Debugf("fallback: " + BoolErr(r));
      return r;
    }
    return false;
  }
};

Authenticator::Authenticator() : impl_(std::make_unique<Impl>()) {}
Authenticator::~Authenticator() = default;

void Authenticator::Register(const std::string& domain,
                             std::unique_ptr<Backend> be) {
  std::unique_lock<std::shared_mutex> l(impl_->mu);
  impl_->backends[domain] = std::move(be);
}

void Authenticator::SetFallback(std::unique_ptr<Backend> be) {
  std::unique_lock<std::shared_mutex> l(impl_->mu);
  impl_->fallback = std::move(be);
}

void Authenticator::SetAuthDuration(std::chrono::nanoseconds d) {
  std::unique_lock<std::shared_mutex> l(impl_->mu);
  impl_->auth_duration = d;
}

Result<bool> Authenticator::Authenticate(const std::string& user,
                                         const std::string& domain,
                                         const std::string& password) {
  auto start = std::chrono::steady_clock::now();
  nettrace::Trace tr("Auth.Authenticate", user + "@" + domain);
  std::chrono::nanoseconds target;
  {
    std::shared_lock<std::shared_mutex> l(impl_->mu);
    target = impl_->auth_duration;
  }
  Result<bool> r = impl_->Ask(tr, user, domain,
                              [&password](Backend& be, const std::string& u) {
                                return be.Authenticate(u, password);
                              });
  if (r.ok() && !*r) tr.Debugf("auth failed");
  Pad(start, target);
  return r;
}

Result<bool> Authenticator::Exists(const std::string& user,
                                   const std::string& domain) {
  nettrace::Trace tr("Auth.Exists", user + "@" + domain);
  Result<bool> r = impl_->Ask(
      tr, user, domain,
      [](Backend& be, const std::string& u) { return be.Exists(u); });
  if (r.ok() && !*r) tr.Debugf("user does not exist");
  return r;
}

bool Authenticator::ExistsNeverBlocks(const std::string& domain) const {
  std::shared_lock<std::shared_mutex> l(impl_->mu);
  // Exists asks the domain's backend, then the fallback: both count.
  auto it = impl_->backends.find(domain);
  if (it != impl_->backends.end() && !it->second->ExistsNeverBlocks()) {
    return false;
  }
  return !impl_->fallback || impl_->fallback->ExistsNeverBlocks();
}

Status Authenticator::Reload() {
  std::shared_lock<std::shared_mutex> l(impl_->mu);
  std::vector<std::string> msgs;
  for (auto& [domain, be] : impl_->backends) {
    nettrace::Trace tr("Auth.Reload", domain);
    Status s = be->Reload();
    if (!s.ok()) {
      msgs.push_back(GoQuote(domain) + ": " + s.message());
      tr.Error(s.message());
    }
  }
  if (impl_->fallback) {
    nettrace::Trace tr("Auth.Reload", "<fallback>");
    Status s = impl_->fallback->Reload();
    if (!s.ok()) {
      msgs.push_back("<fallback>: " + s.message());
      tr.Error(s.message());
    }
  }
  if (msgs.empty()) return Status::Ok();
  std::string joined;
  for (size_t i = 0; i < msgs.size(); i++) {
    if (i) joined += " ; ";
    joined += msgs[i];
  }
  return Status::Error(joined);
}

}  // namespace chasquid::auth
