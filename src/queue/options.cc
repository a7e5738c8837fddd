#include "queue/options.h"

#include <algorithm>

namespace chasquid::queue {

Options OptionsFrom(const Config& conf, const config::Testing& testing) {
  Options o;
  o.dir = conf.data_dir() + "/queue";
  o.max_items = conf.max_queue_items();
  o.give_up_after = config::GiveUpSendAfter(conf);
  // The largest item a message of max_data_size_mb can make: the text
  // format escapes a byte in at most 4, plus headers and the envelope. The
  // floor keeps items queued under a larger limit loadable when an admin
  // lowers it.
  o.max_item_size =
      4 * std::max<uint64_t>(conf.max_data_size_mb(), 64) * 1048576 + 1048576;
  if (testing.queue_retry_delay) {
    auto delay = *testing.queue_retry_delay;
    o.next_delay = [delay](std::chrono::system_clock::time_point) {
      return delay;
    };
  }
  return o;
}

}  // namespace chasquid::queue
