//! Who reviews what: directors assign the unassigned submissions in review, either by category
//! (a category → reviewer map) or round-robin over the active reviewers, evening out their
//! open work. Also the progress counts, per reviewer, per category and overall.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::repo::{self, QueueItem, Reviewer};
use super::{require_director, require_reviewer, CATEGORIES};
use crate::auth::CurrentUser;
use crate::error::{FieldErrors, WebError};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignMode {
    /// Each unassigned submission to the reviewer with the least open work.
    RoundRobin,
    /// Each unassigned submission to the reviewer its category maps to.
    ByCategory,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AssignRequest {
    pub mode: AssignMode,
    /// For `by_category`: category → reviewer id; categories left out stay unassigned.
    #[serde(default)]
    pub categories: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssignOutcome {
    /// Submissions assigned by this request.
    pub assigned: usize,
}

/// Assigns the unassigned submissions in review as `request` says.
pub async fn assign(
    state: &AppState,
    user: &CurrentUser,
    request: &AssignRequest,
) -> Result<AssignOutcome, WebError> {
    require_director(user)?;
    let db = &state.engine.db;
    let reviewers = repo::reviewers(db).await?;
    let items = repo::queue(db).await?;
    let plan = match request.mode {
        AssignMode::RoundRobin => round_robin(&items, &reviewers)?,
        AssignMode::ByCategory => by_category(&items, &reviewers, &request.categories)?,
    };
    let mut assigned = 0;
    for (submission, reviewer) in plan {
        if repo::assign(db, submission, reviewer, user.id).await? {
            assigned += 1;
        }
    }
    tracing::info!(by = user.id, mode = ?request.mode, assigned, "review assignments");
    Ok(AssignOutcome { assigned })
}

fn open_unassigned(items: &[QueueItem]) -> impl Iterator<Item = &QueueItem> {
    items
        .iter()
        .filter(|i| i.selection == "in_review" && i.reviewer_id.is_none())
}

/// (submission, reviewer) pairs: each next submission to the reviewer with the fewest open
/// assignments (ties to the lowest id), so the work ends up even.
fn round_robin(items: &[QueueItem], reviewers: &[Reviewer]) -> Result<Vec<(i64, i64)>, WebError> {
    if reviewers.is_empty() {
        return Err(WebError::Conflict(
            "There are no active reviewers to assign to.".into(),
        ));
    }
    let mut load: BTreeMap<i64, usize> = reviewers.iter().map(|r| (r.id, 0)).collect();
    for item in items.iter().filter(|i| i.selection == "in_review") {
        if let Some(n) = item.reviewer_id.and_then(|r| load.get_mut(&r)) {
            *n += 1;
        }
    }
    let mut plan = Vec::new();
    for item in open_unassigned(items) {
        let (&reviewer, _) = load
            .iter()
            .min_by_key(|(id, n)| (**n, **id))
            .expect("reviewers is not empty");
        *load.entry(reviewer).or_default() += 1;
        plan.push((item.id, reviewer));
    }
    Ok(plan)
}

/// (submission, reviewer) pairs from a category map, after checking its categories and
/// reviewers.
fn by_category(
    items: &[QueueItem],
    reviewers: &[Reviewer],
    map: &BTreeMap<String, i64>,
) -> Result<Vec<(i64, i64)>, WebError> {
    let mut errors = FieldErrors::new();
    for (category, reviewer) in map {
        if !CATEGORIES.contains(&category.as_str()) {
            errors.insert(category.clone(), "validation.category".into());
        } else if !reviewers.iter().any(|r| r.id == *reviewer) {
            errors.insert(category.clone(), "validation.reviewer".into());
        }
    }
    if !errors.is_empty() {
        return Err(WebError::Validation(errors));
    }
    Ok(open_unassigned(items)
        .filter_map(|i| map.get(&i.category).map(|r| (i.id, *r)))
        .collect())
}

/// Counts of submissions still in review and decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub in_review: usize,
    pub decided: usize,
}

impl Counts {
    fn add(&mut self, item: &QueueItem) {
        if item.selection == "in_review" {
            self.in_review += 1;
        } else {
            self.decided += 1;
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewerProgress {
    pub reviewer_id: i64,
    pub display_name: String,
    /// The submissions assigned to this reviewer.
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CategoryProgress {
    pub category: String,
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub reviewers: Vec<ReviewerProgress>,
    pub categories: Vec<CategoryProgress>,
    /// Submissions in review with nobody assigned.
    pub unassigned_in_review: usize,
    pub overall: Counts,
}

/// Progress of the whole queue (reviewers, directors and admins may look).
pub async fn progress(state: &AppState, user: &CurrentUser) -> Result<Progress, WebError> {
    require_reviewer(user)?;
    let db = &state.engine.db;
    let reviewers = repo::reviewers(db).await?;
    let items = repo::queue(db).await?;
    Ok(count(&items, &reviewers))
}

fn count(items: &[QueueItem], reviewers: &[Reviewer]) -> Progress {
    let mut per_reviewer: Vec<ReviewerProgress> = reviewers
        .iter()
        .map(|r| ReviewerProgress {
            reviewer_id: r.id,
            display_name: r.display_name.clone(),
            counts: Counts::default(),
        })
        .collect();
    let mut per_category: HashMap<&str, Counts> = HashMap::new();
    let mut overall = Counts::default();
    for item in items {
        overall.add(item);
        per_category.entry(&item.category).or_default().add(item);
        let Some(rid) = item.reviewer_id else {
            continue;
        };
        if !per_reviewer.iter().any(|p| p.reviewer_id == rid) {
            per_reviewer.push(ReviewerProgress {
                reviewer_id: rid,
                display_name: item.reviewer_name.clone().unwrap_or_default(),
                counts: Counts::default(),
            });
        }
        if let Some(p) = per_reviewer.iter_mut().find(|p| p.reviewer_id == rid) {
            p.counts.add(item);
        }
    }
    let categories = CATEGORIES
        .iter()
        .map(|c| CategoryProgress {
            category: c.to_string(),
            counts: per_category.remove(c).unwrap_or_default(),
        })
        .collect();
    Progress {
        reviewers: per_reviewer,
        categories,
        unassigned_in_review: open_unassigned(items).count(),
        overall,
    }
}
