//! One open stream: reads the process's events, renders what concerns this
//! viewer and hands the frames to the transport (SSE body or WebSocket).
//!
//! Memory stays bounded whatever the client does: the transport's queue
//! holds [`QUEUE`] frames, and a connection that lets it fill, or falls
//! [`CAPACITY`](super) events behind on the bus, is ended ([`Ended::Slow`]).
//! The client reconnects and catches up over REST with `since_id`.

use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};

use super::route::{Frame, Stream, Viewer, render};
use crate::app::App;

/// Frames waiting for the transport, per connection.
pub const QUEUE: usize = 256;

/// The streams a connection subscribes to; WebSocket messages change them.
pub type Subscriptions = Arc<Mutex<Vec<Stream>>>;

/// Why a connection's pump stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client went away.
    Gone,
    /// The client did not keep up.
    Slow,
    /// The server is shutting down.
    Shutdown,
}

/// Renders events from `events` onto `out` until the client goes, falls
/// behind, or the server shuts down. `events` is taken before the response
/// is sent so that nothing raised after the client connected is missed.
pub async fn pump(
    app: App,
    viewer: Viewer,
    subs: Subscriptions,
    registration: super::Registration,
    mut events: broadcast::Receiver<Arc<super::Heard>>,
    out: mpsc::Sender<Frame>,
) -> Ended {
    // Held while the pump runs: shared work per event counts this viewer.
    let _registration = registration;
    let mut closing = app.streams().closing();
    if *closing.borrow_and_update() {
        return Ended::Shutdown;
    }
    loop {
        let event = tokio::select! {
            changed = closing.changed() => {
                if changed.is_err() || *closing.borrow() {
                    return Ended::Shutdown;
                }
                continue;
            }
            () = out.closed() => return Ended::Gone,
            event = events.recv() => event,
        };
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::info!(missed, "closing a stream that fell behind");
                return Ended::Slow;
            }
            Err(broadcast::error::RecvError::Closed) => return Ended::Shutdown,
        };
        let subscribed: Vec<Stream> = match subs.lock() {
            Ok(s) => s.clone(),
            // A panicked holder cannot leave the list half-written (whole
            // pushes and retains only): keep using it.
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if subscribed.is_empty() {
            continue;
        }
        let frames = match render(&app, &viewer, &subscribed, &event).await {
            Ok(frames) => frames,
            Err(e) => {
                tracing::warn!(error = %e, event = ?event.event, "cannot render a stream event");
                continue;
            }
        };
        for frame in frames {
            match out.try_send(frame) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::info!("closing a stream whose client does not read");
                    return Ended::Slow;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Ended::Gone,
            }
        }
    }
}
