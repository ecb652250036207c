//! Wall-clock steps: a jump forward or back is told from sleeping by the monotonic clock,
//! so what a forward step skipped is journaled as such and nothing aired airs again.

use super::*;

impl Daemon<'_> {
    /// Notices the wall clock jumping relative to the monotonic clock.
    pub(super) fn watch_clock(&mut self) -> DateTime<Utc> {
        let now = self.clock.now();
        let mono = self.clock.monotonic();
        let elapsed = chrono::Duration::from_std(mono.saturating_sub(self.timeline.last_mono))
            .unwrap_or_default();
        let expected = self.timeline.last_wall + elapsed;
        let drift = now - expected;
        if drift > STEP_THRESHOLD {
            tracing::warn!(
                "{}",
                tr!(
                    self.lang(),
                    "đồng hồ máy nhảy tới {} giây",
                    "the system clock jumped forward {} s",
                    drift.num_seconds()
                )
            );
            self.timeline.steps.push((expected, now));
        } else if drift < -STEP_THRESHOLD {
            tracing::warn!(
                "{}",
                tr!(
                    self.lang(),
                    "đồng hồ máy lùi lại {} giây; những gì đã phát sẽ không phát lại",
                    "the system clock went back {} s; nothing already aired will air again",
                    -drift.num_seconds()
                )
            );
        }
        self.timeline.last_wall = now;
        self.timeline.last_mono = mono;
        now
    }
}
