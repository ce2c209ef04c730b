//! The configuration as the `gala` binary reads it: defaults, file, environment, mistakes.

mod common;

use common::{text, Sandbox};

#[test]
fn prints_the_configuration_in_force() {
    let sb = Sandbox::new();
    let out = sb.gala().args(["config"]).env("GALA__JOBS__WORKERS", "5").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("width: 320"), "file value: {yaml}");
    assert!(yaml.contains("workers: 5"), "environment value: {yaml}");
    assert!(yaml.contains("loudness_target: -23"), "default value: {yaml}");
}

#[test]
fn a_mistyped_key_in_the_file_stops_with_its_name() {
    let sb = Sandbox::new();
    std::fs::write(sb.config_path(), "house:\n  widht: 320\n").unwrap();
    let out = sb.gala().args(["config", "--check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let msg = text(&out);
    assert!(msg.contains("widht") && msg.contains("width"), "{msg}");
}

#[test]
fn a_mistyped_environment_variable_stops_with_its_name() {
    let sb = Sandbox::new();
    let out = sb.gala().args(["config", "--check"]).env("GALA__JOBS__WROKERS", "3").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("GALA__JOBS__WROKERS"), "{}", text(&out));
}

#[test]
fn a_missing_config_file_named_on_the_command_line_is_an_error() {
    let sb = Sandbox::new();
    let out = sb.gala().args(["--config", "/nonexistent/gala.yaml", "config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("/nonexistent/gala.yaml"), "{}", text(&out));
}
