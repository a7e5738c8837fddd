// The queue's options, built from the daemon's configuration.
#pragma once

#include "config/config.h"
#include "config/testing.h"
#include "queue/queue.h"

namespace chasquid::queue {

// The directory (<data_dir>/queue), limits and give-up time from
// chasquid.conf, the item size bound that follows from the message size
// limit, and the test knob for a fixed retry delay. The caller sets the
// local domains, the aliases and the couriers.
Options OptionsFrom(const Config& conf, const config::Testing& testing);

}  // namespace chasquid::queue
