//! Content filters (being written in a parallel change).

use starling_protocol::mastodon::Status;

use crate::app::App;
use crate::error::Internal;

/// Applies the viewer's filters for `context` to a page of statuses.
pub async fn apply(
    _app: &App,
    _viewer: i64,
    _context: &str,
    _statuses: &mut Vec<Status>,
) -> Result<(), Internal> {
    Ok(())
}
