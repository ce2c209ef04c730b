//! A host card lasts at least as long as its spoken line. When a director writes a new line,
//! it is measured with the host's voice before the edit is saved, so that the timeline's
//! back-timing holds; the render measures again (`render::show`) with the same rule.

use super::model::{Edit, ItemId, ItemKind, RunningOrder};
use crate::voice::{Voice, VoiceError};

/// A card made longer because its new line takes longer to say.
#[derive(Debug, Clone, PartialEq)]
pub struct Stretched {
    pub item: ItemId,
    pub asked_ms: i64,
    pub spoken_ms: i64,
}

/// Makes every `set_host_line` of `edits` at least as long as its line spoken by `voice`
/// (in the card's language) plus `padding_ms`. Cards played by a host clip and items that are
/// not host cards of `order` are left alone (the edit itself says what is wrong with them).
pub fn fit_lines(
    order: &RunningOrder,
    edits: &mut [Edit],
    voice: &dyn Voice,
    padding_ms: i64,
) -> Result<Vec<Stretched>, VoiceError> {
    let mut stretched = Vec::new();
    for edit in edits.iter_mut() {
        let Edit::SetHostLine {
            item,
            line,
            duration_ms,
            ..
        } = edit
        else {
            continue;
        };
        let Some(ItemKind::HostCard(card)) = order.get(*item).map(|i| &i.kind) else {
            continue;
        };
        if card.clip_id.is_some() || line.trim().is_empty() {
            continue;
        }
        let spoken_ms = crate::voice::speech_ms(line.trim(), &card.language, voice)? + padding_ms;
        if spoken_ms > *duration_ms {
            stretched.push(Stretched {
                item: *item,
                asked_ms: *duration_ms,
                spoken_ms,
            });
            *duration_ms = spoken_ms;
        }
    }
    Ok(stretched)
}

/// Whether `edits` write a host line (and so need the voice).
pub fn writes_lines(edits: &[Edit]) -> bool {
    edits.iter().any(|e| matches!(e, Edit::SetHostLine { .. }))
}
