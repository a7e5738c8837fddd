// print-config.
#include <cstdio>
#include <string>

#include "command.h"
#include "config/config.h"

namespace chasquid::util {

namespace {

int PrintConfig(const Args& args) {
  auto conf = config::Load(args.config_dir() + "/chasquid.conf", "");
  if (!conf.ok()) Fatal("Error loading config: " + conf.status().message());
  std::string text = config::ToText(*conf);
  if (text.empty() || text.back() != '\n') text += '\n';
  fputs(text.c_str(), stdout);
  return 0;
}

REGISTER_COMMAND("print-config", PrintConfig);

}  // namespace

}  // namespace chasquid::util
