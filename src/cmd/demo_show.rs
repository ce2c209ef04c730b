//! The end of `gala demo`: the ready demo clips become accepted submissions of a few demo
//! creators (reviewed and scored by a demo reviewer), and a director account is made so the
//! studio's timeline can be opened on the planned show.

use gala_pipeline::ingest::clips::{Clip, ClipState};
use gala_pipeline::{demo::DemoClip, now_ms, Engine};
use gala_studio::accounts::{self, DisplayName, Email, Status};
use gala_studio::auth::password::{Hasher, Password};
use gala_studio::auth::Role;
use gala_studio::submissions::form::{Category, Credits, Person, Title, ValidSubmission};
use gala_studio::submissions::repo;

/// The demo's director login, printed at the end.
pub const DIRECTOR_EMAIL: &str = "director@demo.gala.test";
pub const DIRECTOR_PASSWORD: &str = "demo-director";

const CREATORS: [&str; 5] = [
    "Lin Yue",
    "Ada Brook",
    "Chen Hao",
    "Maya Stone",
    "Zhou Qing",
];

async fn account(
    engine: &Engine,
    hasher: &Hasher,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> anyhow::Result<i64> {
    let email = Email::parse(email).map_err(|k| anyhow::anyhow!("demo email: {k}"))?;
    if let Some(a) = accounts::find_by_email(&engine.db, &email).await? {
        return Ok(a.id);
    }
    let name = DisplayName::parse(name).map_err(|k| anyhow::anyhow!("demo name: {k}"))?;
    let password = Password::parse(password).map_err(|k| anyhow::anyhow!("demo password: {k}"))?;
    let hash = hasher.hash(&password).await?;
    Ok(
        accounts::create(&engine.db, &email, &name, &hash, role, Status::Active)
            .await?
            .id,
    )
}

/// Every ready clip becomes an accepted submission (categories and creators in turn, a
/// review score from 3 to 5); returns how many were accepted.
pub async fn seed_accepted(
    engine: &Engine,
    made: &[DemoClip],
    done: &[Clip],
) -> anyhow::Result<usize> {
    let hasher = Hasher::default();
    let director = account(
        engine,
        &hasher,
        DIRECTOR_EMAIL,
        "Demo Director",
        Role::Director,
        DIRECTOR_PASSWORD,
    )
    .await?;
    let mut creators = Vec::new();
    for (i, name) in CREATORS.iter().enumerate() {
        let email = format!("creator{}@demo.gala.test", i + 1);
        creators.push((
            account(engine, &hasher, &email, name, Role::Creator, "demo-creator").await?,
            *name,
        ));
    }
    let mut accepted = 0;
    for (i, (clip, result)) in made.iter().zip(done).enumerate() {
        if result.state != ClipState::Ready {
            continue;
        }
        let upload_id = format!("demo-clip-{}", result.id);
        if repo::has_version_of_upload(&engine.db, &upload_id).await? {
            continue;
        }
        let (owner, creator) = creators[i % creators.len()];
        let title = clip.about.split(": ").next().unwrap_or(clip.name);
        let mut title = title.trim().to_string();
        if let Some(first) = title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let valid = ValidSubmission {
            category: Category::ALL[i % Category::ALL.len()],
            title: Title::parse(&title).map_err(|k| anyhow::anyhow!("demo title: {k}"))?,
            description: format!("Demo clip {}: {}", clip.name, clip.about),
            credits: Credits {
                people: vec![Person {
                    name: creator.to_string(),
                    role: "director".into(),
                }],
                ai_tools: vec!["lavfi".into()],
            },
            language: "none".into(),
        };
        let id = repo::create(&engine.db, owner, &valid).await?;
        repo::add_version(&engine.db, id, &upload_id, result.id).await?;
        let now = now_ms();
        sqlx::query("UPDATE submissions SET selection = 'accepted', locked = 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&engine.db.pool)
            .await?;
        sqlx::query(
            "INSERT INTO review_decisions (submission_id, version_number, reviewer_id, decision, reason_template, note, previous_selection, score, created_at)
             VALUES ($1, 1, $2, 'accept', 'welcome', 'Demo: accepted.', 'in_review', $3, $4)",
        )
        .bind(id)
        .bind(director)
        .bind(3 + (i % 3) as i64)
        .bind(now)
        .execute(&engine.db.pool)
        .await?;
        accepted += 1;
    }
    Ok(accepted)
}

/// Plans a show of about 90 seconds from the accepted pool, renders it into
/// `data_dir/renders/demo-show.mp4` and prints what the planner and the render did; returns
/// the show's id.
pub async fn plan_and_render(engine: &Engine) -> anyhow::Result<i64> {
    use gala_pipeline::show::propose::{propose, ProposeOptions};
    use gala_pipeline::show::{store, RunningOrder, ShowMeta};

    let pool = gala_pipeline::show::pool::accepted_pool(&engine.db).await?;
    let acts_ms: i64 = pool.iter().map(|c| c.duration_ms).sum();
    let target_ms = (acts_ms * 8 / 10).clamp(60_000, 90_000);
    let meta = ShowMeta {
        title: "Gala Demo Show".into(),
        starts_at: "2027-02-05T20:00".into(),
        target_ms,
        tolerance_ms: 10_000,
        house_format: "default".into(),
    };
    let show = store::create(&engine.db, meta, RunningOrder::default(), None).await?;
    let options = ProposeOptions {
        language: Some("en".into()),
        seed: Some(7),
        ..ProposeOptions::default()
    };
    let (saved, plan) = propose(
        &engine.db,
        show.id,
        show.version,
        &options,
        &engine.config.planner,
        None,
    )
    .await?;
    println!(
        "Planned show {} from {} accepted acts: {} items, {:.1} s against a target of {:.1} s ({}).",
        show.id,
        pool.len(),
        saved.order.items.len(),
        plan.total_ms as f64 / 1000.0,
        target_ms as f64 / 1000.0,
        if plan.within_tolerance { "within the tolerance" } else { "OUTSIDE the tolerance" }
    );
    for w in &plan.warnings {
        println!("  planner: {w}");
    }
    for (item, why) in saved.order.items.iter().zip(&plan.explanations).take(6) {
        println!(
            "  {:<44} {}",
            gala_pipeline::show::summary::item_name(item),
            why.text
        );
    }
    let out = engine.config.data_dir.join("renders").join("demo-show.mp4");
    let done = super::render::render_with_bar(engine, show.id, &out).await?;
    super::render::print_summary(&done, &out);
    Ok(show.id)
}
