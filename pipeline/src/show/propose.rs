//! The planner's proposal taken into a show: the accepted pool is read, the planner runs on
//! a blocking thread, and its running order replaces the current one as a new version (made
//! on `expected_version`, so a director's concurrent change is never overwritten).

use serde::{Deserialize, Serialize};

use super::store::{self, ShowRecord, StoreError};
use super::Edit;
use crate::planner::{self, Plan, PlanError, PlanRequest, PlannerConfig};
use crate::storage::db::Db;

/// What the director asks of the planner beyond the show itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProposeOptions {
    /// Submission to open the show with.
    #[serde(default)]
    pub opening: Option<i64>,
    /// Submission to end the show with.
    #[serde(default)]
    pub finale: Option<i64>,
    /// BCP-47 tag of the host lines; default `en`.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Plans show `id` from the accepted pool and saves the proposal as the next version.
pub async fn propose(
    db: &Db,
    id: i64,
    expected_version: i64,
    options: &ProposeOptions,
    cfg: &PlannerConfig,
    author: Option<i64>,
) -> Result<(ShowRecord, Plan), ProposeError> {
    let show = store::get(db, id).await?;
    if show.version != expected_version {
        return Err(StoreError::Conflict {
            current: show.version,
        }
        .into());
    }
    let pool = super::pool::accepted_pool(db).await?;
    let request = PlanRequest {
        meta: show.meta.clone(),
        current: show.order.clone(),
        opening: options.opening,
        finale: options.finale,
        language: options.language.clone().unwrap_or_else(|| "en".into()),
        seed: options.seed,
    };
    let cfg = cfg.clone();
    let plan = tokio::task::spawn_blocking(move || planner::plan(&request, &pool, &cfg))
        .await
        .map_err(anyhow::Error::from)??;
    let edit = Edit::Replace {
        items: plan.order.items.clone(),
    };
    let saved = store::edit(db, id, expected_version, &[edit], author).await?;
    Ok((saved, plan))
}
