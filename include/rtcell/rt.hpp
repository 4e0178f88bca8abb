// The public RT API in one include, for application authors:
//   #include <rtcell/rt.hpp>      and link with -lrtcell_rt -lrtcell_util -lrtcell_sys
// (or `pkg-config --cflags --libs rtcell-rt` after `cmake --install`).
// docs/rt-api.md walks through it with examples.
#pragma once

#include "rtcell/error.hpp"
#include "rtcell/rt/arena.hpp"
#include "rtcell/rt/cell_tasks.hpp"
#include "rtcell/rt/histogram.hpp"
#include "rtcell/rt/hot_path_guard.hpp"
#include "rtcell/rt/mailbox.hpp"
#include "rtcell/rt/memory.hpp"
#include "rtcell/rt/periodic_task.hpp"
#include "rtcell/rt/pi_mutex.hpp"
#include "rtcell/rt/published_stats.hpp"
#include "rtcell/rt/sched.hpp"
#include "rtcell/rt/spsc_queue.hpp"
#include "rtcell/rt/time.hpp"
