//! Posting and interacting with statuses.

use crate::app::App;
use crate::error::Internal;

/// Fans a status out to local home feeds (the `fanout` job).
pub async fn fan_out(_app: &App, _status_id: i64) -> Result<(), Internal> {
    Ok(())
}
