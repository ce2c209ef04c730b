//! `gala admin create-admin`: the first admin comes from the command line, and can log in.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{text, Sandbox};
use gala_pipeline::{Config, Engine};
use gala_studio::auth::flows;

const PASSWORD: &str = "first admin's password";

/// Logs in through the studio's own login flow against the sandbox's database.
fn can_log_in(sb: &Sandbox, email: &str, password: &str) -> Result<String, String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = Config {
            data_dir: sb.path("data"),
            ..Config::default()
        };
        let engine = Engine::open(config).await.unwrap();
        let state = gala_studio::AppState::new(engine).await.unwrap();
        flows::login(&state, email, password, "test", None)
            .await
            .map(|(account, _)| format!("{:?}", account.role))
            .map_err(|e| format!("{e:?}"))
    })
}

#[test]
fn create_admin_from_the_environment_can_log_in() {
    let sb = Sandbox::new();
    let out = sb
        .gala()
        .args([
            "admin",
            "create-admin",
            "--email",
            "Root@Example.org",
            "--name",
            "Root",
        ])
        .env("GALA_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains(PASSWORD),
        "the password is never echoed"
    );
    assert_eq!(
        can_log_in(&sb, "root@example.org", PASSWORD),
        Ok("Admin".into())
    );
    assert!(can_log_in(&sb, "root@example.org", "wrong password").is_err());

    let again = sb
        .gala()
        .args([
            "admin",
            "create-admin",
            "--email",
            "root@example.org",
            "--name",
            "Two",
        ])
        .env("GALA_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(!again.status.success(), "the email is taken");
}

#[test]
fn create_admin_reads_the_password_from_stdin_and_checks_it() {
    let sb = Sandbox::new();
    let run = |password: &str| {
        let mut child = sb
            .gala()
            .args([
                "admin",
                "create-admin",
                "--email",
                "ops@example.org",
                "--name",
                "Ops",
            ])
            .env_remove("GALA_ADMIN_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let short = run("short");
    assert!(!short.status.success());
    assert!(text(&short).contains("password"), "{}", text(&short));
    let out = run(PASSWORD);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(PASSWORD));
    assert_eq!(
        can_log_in(&sb, "ops@example.org", PASSWORD),
        Ok("Admin".into())
    );
}
