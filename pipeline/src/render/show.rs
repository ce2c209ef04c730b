//! From a stored show to a [`RenderPlan`]: acts resolve to their normalized clips in the
//! media store with their current captions, and every other item (host card, bumper, break,
//! slate) is rendered from its template by `render::cards` into a segment file, the host's
//! line spoken. A card that fails to render airs as a plain slate of the same length.

use std::path::Path;

use super::cards::{CardRenderer, CardSpec};
use super::segment::Segment;
use super::{CaptionMode, LowerThird, PlanItem, RenderPlan, Source};
use crate::ai::RunControl;
use crate::analysis::captions;
use crate::engine::Engine;
use crate::ingest::clips;
use crate::show::{ItemId, ItemKind, ShowRecord};
use crate::voice::Voice;

/// A host card whose spoken line made it longer (or shorter) than the show said.
#[derive(Debug, Clone, PartialEq)]
pub struct CardLength {
    pub item: ItemId,
    pub planned_ms: i64,
    pub rendered_ms: i64,
}

/// The plan, plus the cards whose length the show should take over.
pub struct ResolvedShow {
    pub plan: RenderPlan,
    pub card_lengths: Vec<CardLength>,
    /// Items that could not be resolved and air as slates, with the reason.
    pub problems: Vec<(ItemId, String)>,
}

/// Resolves `show` for rendering; card segments are written into `work`. Card rendering is
/// blocking work: call this from a blocking thread (it uses `handle` for the database).
pub fn resolve(
    engine: &Engine,
    handle: &tokio::runtime::Handle,
    show: &ShowRecord,
    voice: Option<&dyn Voice>,
    work: &Path,
) -> anyhow::Result<ResolvedShow> {
    let cfg = &engine.config;
    let cards = CardRenderer::new(&cfg.cards)?;
    let mut items = Vec::with_capacity(show.order.items.len());
    let (mut card_lengths, mut problems) = (Vec::new(), Vec::new());
    for item in &show.order.items {
        let duration_ms = item.duration_ms();
        let (kind, title, creator, source) = match &item.kind {
            ItemKind::Act(act) => {
                let source = match handle.block_on(act_source(engine, act.clip_id)) {
                    Ok((path, cues)) => Source::Act {
                        path,
                        in_ms: act.in_ms,
                        out_ms: act.out_ms,
                        lower_third: Some(LowerThird {
                            title: act.title.clone(),
                            credit: act.creator.clone(),
                        }),
                        cues,
                    },
                    Err(e) => {
                        problems.push((item.id, format!("{e:#}")));
                        Source::Slate {
                            text: format!("{} — {}", act.title, act.creator),
                            duration_ms,
                        }
                    }
                };
                ("act", act.title.clone(), act.creator.clone(), source)
            }
            other => {
                let spec = CardSpec::for_item(other, &show.meta.title).expect("not an act");
                let out = work.join(format!("card-{}.mkv", item.id));
                let mut progress = |_: f64| {};
                let mut ctl = RunControl::unlimited(&mut progress);
                let voice = if spec.speak { voice } else { None };
                let source = match cards.render(&spec, &cfg.house, voice, &out, &mut ctl) {
                    Ok(report) => {
                        if report.duration_ms != duration_ms
                            && matches!(other, ItemKind::HostCard(_))
                        {
                            card_lengths.push(CardLength {
                                item: item.id,
                                planned_ms: duration_ms,
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
                            text: card_text(&spec),
                            duration_ms,
                        }
                    }
                };
                (kind_name(other), card_text(&spec), String::new(), source)
            }
        };
        items.push(PlanItem {
            id: item.id,
            kind: kind.into(),
            title,
            creator,
            source,
        });
    }
    Ok(ResolvedShow {
        plan: RenderPlan {
            house: cfg.house.clone(),
            items,
            captions: CaptionMode::from_config(&cfg.render.captions),
            config: cfg.render.clone(),
            limits: cfg.limits.clone(),
        },
        card_lengths,
        problems,
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

/// The act's normalized file and its current captions (the first language shown).
async fn act_source(
    engine: &Engine,
    clip_id: i64,
) -> anyhow::Result<(std::path::PathBuf, Vec<crate::ai::captions::Cue>)> {
    let clip = clips::get(&engine.db, clip_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("clip {clip_id} is gone"))?;
    let digest = clip
        .normalized_sha256
        .ok_or_else(|| anyhow::anyhow!("clip {clip_id} has no normalized file"))?;
    let path = engine.store.local_path(&digest)?;
    let cues = captions::current_of(&engine.db, clip_id, None)
        .await?
        .map(|row| row.cues)
        .unwrap_or_default();
    Ok((path, cues))
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
    let lengths_saved = if card_lengths.is_empty() {
        None
    } else {
        let edits: Vec<crate::show::Edit> = card_lengths
            .iter()
            .map(|c| crate::show::Edit::SetDuration {
                item: c.item,
                duration_ms: c.rendered_ms,
            })
            .collect();
        Some(
            crate::show::store::edit(&engine.db, id, show.version, &edits, None)
                .await
                .map(|r| r.version)
                .map_err(|e| e.to_string()),
        )
    };
    Ok(ShowRender {
        report,
        version: show.version,
        card_lengths,
        problems,
        lengths_saved,
    })
}
