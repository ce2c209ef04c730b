//! Filtering and paging of the queue. Applied in Rust over the queue rows: the finding kinds
//! live in each clip's QC report JSON, and a queue of thousands is quick to go through.

use serde::{Deserialize, Serialize};

use super::repo::QueueItem;

/// Submissions per page.
pub const PER_PAGE: usize = 50;

/// What the queue is narrowed to; an absent or empty field does not filter.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct QueueFilter {
    /// A category (music, dance, …).
    pub category: Option<String>,
    /// A selection: in_review, accepted, needs_changes, not_selected.
    pub selection: Option<String>,
    /// A processing state of the latest version: `processing` (not finished yet), ready,
    /// rejected or failed.
    pub state: Option<String>,
    /// A QC finding kind: black, silence, frozen, clipping, loudness, loudness_range,
    /// true_peak, resolution, aspect.
    pub finding: Option<String>,
    /// `me` (assigned to the caller) or `unassigned`.
    pub assigned: Option<String>,
    /// 1-based page number.
    pub page: Option<usize>,
}

/// One page of the filtered queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    /// Matching submissions on all pages.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl QueueFilter {
    /// Whether `item` passes every filter, for the user `me`.
    pub fn matches(&self, item: &QueueItem, me: i64) -> bool {
        given(&self.category).is_none_or(|c| item.category == c)
            && given(&self.selection).is_none_or(|s| item.selection == s)
            && given(&self.state).is_none_or(|s| state_matches(item.clip_state.as_deref(), s))
            && given(&self.finding).is_none_or(|f| item.finding_kinds.iter().any(|k| k == f))
            && given(&self.assigned).is_none_or(|a| match a {
                "me" => item.reviewer_id == Some(me),
                "unassigned" => item.reviewer_id.is_none(),
                _ => true,
            })
    }

    /// The page asked for of the matching items; the caller's own assignments come first,
    /// then the oldest submissions.
    pub fn apply(&self, items: Vec<QueueItem>, me: i64) -> QueuePage {
        let mut matching: Vec<QueueItem> =
            items.into_iter().filter(|i| self.matches(i, me)).collect();
        matching.sort_by_key(|i| (i.reviewer_id != Some(me), i.id));
        let total = matching.len();
        let pages = total.div_ceil(PER_PAGE).max(1);
        let page = self.page.unwrap_or(1).clamp(1, pages);
        let items = matching
            .into_iter()
            .skip((page - 1) * PER_PAGE)
            .take(PER_PAGE)
            .collect();
        QueuePage {
            items,
            total,
            page,
            pages,
        }
    }

    /// The filter as a query string (without the page), for page links.
    pub fn query(&self) -> String {
        let pairs = [
            ("category", &self.category),
            ("selection", &self.selection),
            ("state", &self.state),
            ("finding", &self.finding),
            ("assigned", &self.assigned),
        ];
        pairs
            .iter()
            .filter_map(|(k, v)| given(v).map(|v| format!("{k}={}", crate::i18n::encode_query(v))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A clip still in the ingest chain (or a submission without an upload yet) is `processing`.
fn state_matches(clip_state: Option<&str>, wanted: &str) -> bool {
    match clip_state {
        None => wanted == "processing",
        Some(s) if wanted == "processing" => !matches!(s, "ready" | "rejected" | "failed"),
        Some(s) => s == wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, reviewer: Option<i64>, state: Option<&str>) -> QueueItem {
        QueueItem {
            id,
            owner_id: 1,
            owner_name: "o".into(),
            category: "music".into(),
            title: "t".into(),
            language: "en".into(),
            selection: "in_review".into(),
            locked: false,
            created_at: 0,
            version_number: Some(1),
            clip_id: Some(id),
            clip_state: state.map(str::to_string),
            finding_kinds: vec!["clipping".into()],
            reviewer_id: reviewer,
            reviewer_name: None,
        }
    }

    #[test]
    fn my_assignments_come_first_and_pages_are_clamped() {
        let items = vec![item(1, None, None), item(2, Some(7), Some("ready"))];
        let page = QueueFilter {
            page: Some(9),
            ..Default::default()
        }
        .apply(items, 7);
        assert_eq!(page.page, 1);
        assert_eq!(
            page.items.iter().map(|i| i.id).collect::<Vec<_>>(),
            vec![2, 1]
        );
    }

    #[test]
    fn processing_means_not_finished() {
        assert!(state_matches(Some("normalizing"), "processing"));
        assert!(state_matches(None, "processing"));
        assert!(!state_matches(Some("ready"), "processing"));
        assert!(state_matches(Some("failed"), "failed"));
    }

    #[test]
    fn empty_fields_do_not_filter() {
        let f = QueueFilter {
            category: Some(String::new()),
            finding: Some("black".into()),
            ..Default::default()
        };
        assert!(!f.matches(&item(1, None, None), 1));
        assert_eq!(f.query(), "finding=black");
    }
}
