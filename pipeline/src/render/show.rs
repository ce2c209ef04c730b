//! From a stored show to a [`RenderPlan`], in two steps so that the second can run on a
//! machine without the database (a remote worker, `render::job`):
//!
//! 1. [`describe`] (database): acts become their normalized clip's digest with its current
//!    captions; every other item (host card, bumper, break, slate) becomes the [`CardSpec`] of
//!    its template. An act that cannot be resolved becomes a slate and a problem.
//! 2. [`build`] (media store only): clips are fetched from the store and cards rendered by
//!    `render::cards` into segment files, the host's line spoken. A card that fails to render,
//!    or a clip the store does not hold, airs as a plain slate of the same length.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cards::{CardRenderer, CardSpec};
use super::segment::Segment;
use super::{CaptionMode, LowerThird, PlanItem, RenderPlan, Source};
use crate::ai::captions::Cue;
use crate::ai::RunControl;
use crate::analysis::captions;
use crate::config::HouseFormat;
use crate::engine::Engine;
use crate::ingest::clips;
use crate::show::{ItemId, ItemKind, ShowRecord};
use crate::storage::db::Db;
use crate::storage::media::MediaStore;
use crate::voice::Voice;

/// A host card whose spoken line made it longer (or shorter) than the show said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardLength {
    pub item: ItemId,
    pub planned_ms: i64,
    pub rendered_ms: i64,
}

/// One item of a show as the render needs it: no database, objects by digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowItem {
    pub id: ItemId,
    /// `act`, `host_card`, `bumper`, `break` or `slate` (for the rundown).
    pub kind: String,
    /// The chapter title.
    pub title: String,
    /// The creator's name for acts, empty otherwise.
    pub creator: String,
    pub source: ItemSource,
}

/// Where a [`ShowItem`]'s picture and sound come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ItemSource {
    /// An act: its normalized clip (by digest) from `in_ms` to `out_ms`, with its captions.
    Clip {
        normalized: String,
        in_ms: i64,
        out_ms: i64,
        lower_third: (String, String),
        cues: Vec<Cue>,
    },
    /// A card rendered from its template.
    Card { spec: CardSpec },
    /// A plain slate.
    Slate { text: String, duration_ms: i64 },
}

/// A show described for the render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Described {
    pub items: Vec<ShowItem>,
    /// Items that could not be resolved and air as slates, with the reason.
    pub problems: Vec<(ItemId, String)>,
}

/// The render's items made from a [`Described`] show.
pub struct Built {
    pub items: Vec<PlanItem>,
    pub card_lengths: Vec<CardLength>,
    /// The described show's problems, and the cards and clips that air as slates.
    pub problems: Vec<(ItemId, String)>,
}

/// The plan, plus the cards whose length the show should take over.
pub struct ResolvedShow {
    pub plan: RenderPlan,
    pub card_lengths: Vec<CardLength>,
    /// Items that could not be resolved and air as slates, with the reason.
    pub problems: Vec<(ItemId, String)>,
}

/// Reads what the render needs of `show` from the database.
pub async fn describe(db: &Db, show: &ShowRecord) -> anyhow::Result<Described> {
    let mut items = Vec::with_capacity(show.order.items.len());
    let mut problems = Vec::new();
    for item in &show.order.items {
        let duration_ms = item.duration_ms();
        let (kind, title, creator, source) = match &item.kind {
            ItemKind::Act(act) => {
                let source = match act_source(db, act.clip_id).await {
                    Ok((normalized, cues)) => ItemSource::Clip {
                        normalized,
                        in_ms: act.in_ms,
                        out_ms: act.out_ms,
                        lower_third: (act.title.clone(), act.creator.clone()),
                        cues,
                    },
                    Err(e) => {
                        problems.push((item.id, format!("{e:#}")));
                        ItemSource::Slate {
                            text: format!("{} — {}", act.title, act.creator),
                            duration_ms,
                        }
                    }
                };
                ("act", act.title.clone(), act.creator.clone(), source)
            }
            other => {
                let spec = CardSpec::for_item(other, &show.meta.title).expect("not an act");
                let title = card_text(&spec);
                (
                    kind_name(other),
                    title,
                    String::new(),
                    ItemSource::Card { spec },
                )
            }
        };
        items.push(ShowItem {
            id: item.id,
            kind: kind.into(),
            title,
            creator,
            source,
        });
    }
    Ok(Described { items, problems })
}

/// Makes the render's items: clips from `store`, cards rendered into `work` (host lines spoken
/// by `voice`; none: silent). Blocking. A clip the store does not hold airs as a slate; one
/// it holds but cannot fetch now is an error (it may answer on a retry).
pub fn build(
    show: &Described,
    store: &dyn MediaStore,
    cards: &CardRenderer,
    house: &HouseFormat,
    voice: Option<&dyn Voice>,
    work: &Path,
) -> anyhow::Result<Built> {
    let mut items = Vec::with_capacity(show.items.len());
    let mut card_lengths = Vec::new();
    let mut problems = show.problems.clone();
    for item in &show.items {
        let source = match &item.source {
            ItemSource::Clip {
                normalized,
                in_ms,
                out_ms,
                lower_third: (title, credit),
                cues,
            } => {
                match store.local_path(normalized) {
                    Ok(path) => Source::Act {
                        path,
                        in_ms: *in_ms,
                        out_ms: *out_ms,
                        lower_third: Some(LowerThird {
                            title: title.clone(),
                            credit: credit.clone(),
                        }),
                        cues: cues.clone(),
                    },
                    // Asked only when the fetch failed: missing for good, or not answering.
                    Err(_) if !store.exists(normalized)? => {
                        problems.push((
                            item.id,
                            format!("clip {normalized} is not in the media store"),
                        ));
                        Source::Slate {
                            text: format!("{title} — {credit}"),
                            duration_ms: out_ms - in_ms,
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            ItemSource::Card { spec } => {
                let out = work.join(format!("card-{}.mkv", item.id));
                let mut progress = |_: f64| {};
                let mut ctl = RunControl::unlimited(&mut progress);
                let voice = if spec.speak { voice } else { None };
                match cards.render(spec, house, voice, &out, &mut ctl) {
                    Ok(report) => {
                        if report.duration_ms != spec.duration_ms && item.kind == "host_card" {
                            card_lengths.push(CardLength {
                                item: item.id,
                                planned_ms: spec.duration_ms,
                                rendered_ms: report.duration_ms,
                            });
                        }
                        Source::Segment(Segment {
                            path: out,
                            frames: u64::from(report.frames),
                        })
                    }
                    Err(e) => {
                        problems.push((item.id, format!("card: {e}")));
                        Source::Slate {
                            text: card_text(spec),
                            duration_ms: spec.duration_ms,
                        }
                    }
                }
            }
            ItemSource::Slate { text, duration_ms } => Source::Slate {
                text: text.clone(),
                duration_ms: *duration_ms,
            },
        };
        items.push(PlanItem {
            id: item.id,
            kind: item.kind.clone(),
            title: item.title.clone(),
            creator: item.creator.clone(),
            source,
        });
    }
    Ok(Built {
        items,
        card_lengths,
        problems,
    })
}

/// Resolves `show` for rendering on this machine (both steps); card segments are written
/// into `work`. Blocking work: call this from a blocking thread (it uses `handle` for the
/// database).
pub fn resolve(
    engine: &Engine,
    handle: &tokio::runtime::Handle,
    show: &ShowRecord,
    voice: Option<&dyn Voice>,
    work: &Path,
) -> anyhow::Result<ResolvedShow> {
    let cfg = &engine.config;
    let cards = CardRenderer::new(&cfg.cards)?;
    let described = handle.block_on(describe(&engine.db, show))?;
    let built = build(
        &described,
        engine.store.as_ref(),
        &cards,
        &cfg.house,
        voice,
        work,
    )?;
    Ok(ResolvedShow {
        plan: RenderPlan {
            house: cfg.house.clone(),
            items: built.items,
            captions: CaptionMode::from_config(&cfg.render.captions),
            config: cfg.render.clone(),
            limits: cfg.limits.clone(),
        },
        card_lengths: built.card_lengths,
        problems: built.problems,
    })
}

fn kind_name(kind: &ItemKind) -> &'static str {
    match kind {
        ItemKind::Act(_) => "act",
        ItemKind::HostCard(_) => "host_card",
        ItemKind::Bumper { .. } => "bumper",
        ItemKind::Break { .. } => "break",
        ItemKind::Slate { .. } => "slate",
    }
}

fn card_text(spec: &CardSpec) -> String {
    [&spec.line, &spec.title, &spec.label]
        .into_iter()
        .find(|t| !t.is_empty())
        .cloned()
        .unwrap_or_else(|| spec.template.clone())
}

/// The digest of the act's normalized file and its current captions (the first language
/// shown).
async fn act_source(db: &Db, clip_id: i64) -> anyhow::Result<(String, Vec<Cue>)> {
    let clip = clips::get(db, clip_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("clip {clip_id} is gone"))?;
    let digest = clip.normalized()?.to_string();
    let cues = captions::current_of(db, clip_id, None)
        .await?
        .map(|row| row.cues)
        .unwrap_or_default();
    Ok((digest, cues))
}

/// What `render_show` did.
pub struct ShowRender {
    pub report: super::RenderReport,
    /// The version of the show that was rendered.
    pub version: i64,
    pub card_lengths: Vec<CardLength>,
    pub problems: Vec<(ItemId, String)>,
    /// Set when the show took over the rendered card lengths (the version saved), or why not.
    pub lengths_saved: Option<Result<i64, String>>,
}

/// Renders the current version of show `id` into `out` (MP4) with the rundown exports beside
/// it. Host cards take the length of their spoken line, and the show is updated to match
/// (a new version) so that its back-timing and the master agree.
pub async fn render_show(
    engine: &Engine,
    id: i64,
    out: &Path,
    progress: std::sync::Arc<dyn Fn(super::Progress) + Send + Sync>,
) -> anyhow::Result<ShowRender> {
    let show = crate::show::store::get(&engine.db, id).await?;
    let voice = match crate::voice::voice_for(&engine.config.models) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, "no voice for the host cards; they will be silent");
            None
        }
    };
    let (engine2, out2, show2) = (engine.clone(), out.to_path_buf(), show.clone());
    let handle = tokio::runtime::Handle::current();
    let (report, card_lengths, problems) = tokio::task::spawn_blocking(move || {
        let parent = out2
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)?;
        let work = tempfile::Builder::new()
            .prefix(".cards-")
            .tempdir_in(parent)?;
        let resolved = resolve(&engine2, &handle, &show2, voice.as_deref(), work.path())?;
        let report = super::render(&resolved.plan, &out2, &|p| progress(p))?;
        super::export::write_all(&out2, &resolved.plan, &report)?;
        anyhow::Ok((report, resolved.card_lengths, resolved.problems))
    })
    .await??;
    let lengths_saved = save_card_lengths(&engine.db, id, show.version, &card_lengths).await;
    Ok(ShowRender {
        report,
        version: show.version,
        card_lengths,
        problems,
        lengths_saved,
    })
}

/// Saves the rendered lengths of host cards as the show's next version (when the show is
/// still at `version`): `None` when no card changed length, else the version saved or why
/// not.
pub async fn save_card_lengths(
    db: &Db,
    id: i64,
    version: i64,
    card_lengths: &[CardLength],
) -> Option<Result<i64, String>> {
    if card_lengths.is_empty() {
        return None;
    }
    let edits: Vec<crate::show::Edit> = card_lengths
        .iter()
        .map(|c| crate::show::Edit::SetDuration {
            item: c.item,
            duration_ms: c.rendered_ms,
        })
        .collect();
    Some(
        crate::show::store::edit(db, id, version, &edits, None)
            .await
            .map(|r| r.version)
            .map_err(|e| e.to_string()),
    )
}
