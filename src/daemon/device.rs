//! The sound output's back-off: while it is lost, loaxa looks for it again with a growing
//! wait, says when it is back, and lets a waiting emergency air at once.

use super::*;

impl Daemon<'_> {
    /// While the output is lost, looks for it again with a growing back-off (2 s up to a
    /// minute), so the operator hears when it is back and a waiting emergency airs at once.
    /// Not right before a broadcast: that opens the device itself.
    pub(super) async fn look_for_device(&mut self, lead: chrono::Duration) {
        let Some((at, backoff)) = self.device_down else {
            return;
        };
        if self.mono() < at {
            return;
        }
        let now = self.clock.now();
        let soon = recurrence::next_after(
            self.schedules.slots(),
            self.config.timezone,
            now,
            chrono::Duration::days(1),
        )
        .is_some_and(|o| o.at - now < lead + chrono::Duration::seconds(2));
        if soon {
            return;
        }
        match self.audio.check().await {
            Ok(()) => {
                self.device_down = None;
                self.publishing.status.output_error = None;
                self.publishing.status.output_lost_since = None;
                // Emergencies that failed for want of a device go now.
                self.clips.emergency_failed.clear();
                tracing::info!(
                    "{}",
                    tr!(
                        self.lang(),
                        "đầu ra âm thanh đã hoạt động trở lại: {}",
                        "the sound output is back: {}",
                        self.audio.output_name()
                    )
                );
                self.publish_status(true);
            }
            Err(e) => {
                let next = (backoff * 2).min(DEVICE_RETRY_MAX);
                self.device_down = Some((self.mono() + next, next));
                self.publishing.status.output_error = Some(e.to_string());
                tracing::debug!("sound output still unavailable ({e}); next look in {next:?}");
            }
        }
    }
}
