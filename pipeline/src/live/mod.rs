//! Live playout: the running order played as one continuous program to one or more RTMP
//! destinations at once, paced to real time, with live control and an as-run log.
//!
//! - [`frames`]: an item's pictures and sound one house frame at a time (or a slate).
//! - [`encoder`]: the one encode (house x264, AAC) shared by every destination.
//! - [`output`]: a destination: its own thread and FLV muxer, reconnecting on its own.
//! - [`playout`]: the loop: pacing, graphics, live control, slates for failed items.
//! - [`asrun`]: the as-run log, the live sessions and live commands in the database.
//! - [`session`]: a show on air from this node (heartbeat, commands, as-run), and the standby
//!   that takes over when the active node's heartbeat stops.
//!
//! The loop knows no database: it reports [`playout::Event`]s, which `asrun` stores.

pub mod asrun;
pub mod encoder;
pub mod frames;
pub mod output;
pub mod playout;
pub mod session;

use serde::{Deserialize, Serialize};

pub use self::output::{DestinationState, DestinationStatus};
pub use self::playout::{run, Event, LiveStatus, Playout, Replaced};
use crate::render::PlanItem;

/// The `live` section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    /// First wait before reconnecting a dropped destination, ms; doubles per failure.
    /// Default 500.
    pub reconnect_min_ms: u64,
    /// Longest wait between attempts, ms. Default 8000.
    pub reconnect_max_ms: u64,
    /// A destination that accepts nothing for this long has dropped, ms. Default 5000.
    pub io_timeout_ms: u64,
    /// Packets queued per destination, in seconds of program; beyond, frames are dropped
    /// (counted) up to the next keyframe. Default 4.
    pub queue_seconds: u32,
    /// The active node writes its heartbeat this often, ms. Default 1000.
    pub heartbeat_ms: u64,
    /// A standby takes over when the active node's heartbeat is this old, ms. Default 4000.
    pub takeover_after_ms: u64,
    /// The slate shown while the director holds the program.
    pub hold_text: String,
    /// Stream-copy the pictures when every item is already in the house format and no
    /// graphics are drawn (low CPU); otherwise every frame is encoded. Default true.
    pub copy: bool,
    /// Also write an HLS rendition under `data_dir/live/show-<id>/preview/` for the studio's
    /// monitor to play (a few seconds behind). Default true.
    pub preview: bool,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            reconnect_min_ms: 500,
            reconnect_max_ms: 8000,
            io_timeout_ms: 5000,
            queue_seconds: 4,
            heartbeat_ms: 1000,
            takeover_after_ms: 4000,
            hold_text: "We'll be right back".into(),
            copy: true,
            preview: true,
        }
    }
}

/// Items inserted on air (slates, breaks) take ids from here up, apart from the running
/// order's own ids.
pub const INSERTED_ID_BASE: u64 = 1 << 62;

/// Whether an item id is one of an item inserted on air.
pub fn is_inserted(id: u64) -> bool {
    id >= INSERTED_ID_BASE
}

/// Where a show's HLS preview is written (and served from by the studio).
pub fn preview_dir(data_dir: &std::path::Path, show_id: i64) -> std::path::PathBuf {
    data_dir
        .join("live")
        .join(format!("show-{show_id}"))
        .join("preview")
}

/// Live control of a program on air.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// End the item on air now and start the next.
    TakeNext,
    /// Hold the running order: freeze the picture, or show the hold slate.
    Hold { freeze: bool },
    /// Carry on after a hold.
    Resume,
    /// Drop an item not yet on air.
    Skip { item: u64 },
    /// Air a slate or a break next.
    Insert {
        kind: String,
        text: String,
        duration_ms: i64,
    },
    /// Make the item on air longer (its last picture held).
    Extend { ms: i64 },
    /// End the show after the current frame.
    End,
    /// The running order was edited during the show: `items` is the whole new order, of
    /// which the items after the one on air (and not aired yet) replace the queue; `unresolved`
    /// are its items that air as slates, and why.
    #[serde(skip)]
    Reorder {
        items: Vec<PlanItem>,
        unresolved: Vec<(u64, String)>,
    },
}
