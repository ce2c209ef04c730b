//! Password reset by mail: with `studio.smtp` set, the link goes out over SMTP (lettre) to a
//! minimal SMTP server the test runs on loopback, works once, and is not shown to admins.

mod common;

use std::time::Duration;

use common::{spawn_app_with, PASSWORD};
use gala_pipeline::config::SmtpSecurity;
use gala_studio::auth::Role;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accepts SMTP sessions and sends each message's DATA (headers and body) to the channel.
async fn smtp_sink() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            write.write_all(b"354 go on\r\n").await.unwrap();
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(&l);
                                data.push('\n');
                            }
                            let _ = tx.send(data);
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn a_reset_link_is_mailed_and_works_once() {
    let (port, mut mails) = smtp_sink().await;
    let app = spawn_app_with(|c| {
        c.studio.public_url = "http://studio.test".into();
        c.studio.smtp.host = "127.0.0.1".into();
        c.studio.smtp.port = port;
        c.studio.smtp.security = SmtpSecurity::None;
        c.studio.smtp.from = "Gala Studio <studio@example.org>".into();
    })
    .await;
    app.create_user("mei@example.org", "Mei", PASSWORD, Role::Creator)
        .await;
    let client = common::browser();
    let r = app
        .post_json(
            &client,
            "/api/password/forgot",
            json!({ "email": "mei@example.org" }),
        )
        .await;
    assert_eq!(r.status(), 202);

    let mail = tokio::time::timeout(Duration::from_secs(20), mails.recv())
        .await
        .expect("a mail")
        .unwrap();
    // The body is quoted-printable (it has Chinese text): undo its soft line breaks.
    let mail = mail.replace("=\n", "");
    assert!(
        mail.contains("To: \"Mei\" <mei@example.org>")
            || mail.contains("To: Mei <mei@example.org>"),
        "{mail}"
    );
    let start = mail
        .find("http://studio.test/password/reset/")
        .expect("the link in the mail");
    let token: String = mail[start + "http://studio.test/password/reset/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 20, "{token}");

    // Mailed links are not kept for admins to see.
    let admin = app.logged_in("admin@example.org", Role::Admin).await;
    let page = admin
        .get(app.url("/admin/accounts"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains(&token),
        "the mailed token is not shown to admins"
    );

    let new_password = "another long enough password";
    let r = app
        .post_json(
            &client,
            "/api/password/reset",
            json!({ "token": token, "password": new_password }),
        )
        .await;
    assert_eq!(r.status(), 204, "{:?}", r.text().await);
    let r = app
        .post_json(
            &client,
            "/api/password/reset",
            json!({ "token": token, "password": new_password }),
        )
        .await;
    assert_eq!(r.status(), 400, "a link works once");
    assert_eq!(
        app.login(&common::browser(), "mei@example.org", new_password)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn when_mail_fails_the_link_is_kept_for_admins() {
    // Nothing listens on this port: the mail cannot go out.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(|c| {
        c.studio.public_url = "http://studio.test".into();
        c.studio.smtp.host = "127.0.0.1".into();
        c.studio.smtp.port = port;
        c.studio.smtp.security = SmtpSecurity::None;
        c.studio.smtp.from = "studio@example.org".into();
    })
    .await;
    app.create_user("mei@example.org", "Mei", PASSWORD, Role::Creator)
        .await;
    let r = app
        .post_json(
            &common::browser(),
            "/api/password/forgot",
            json!({ "email": "mei@example.org" }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let admin = app.logged_in("admin@example.org", Role::Admin).await;
    let start = std::time::Instant::now();
    loop {
        let page = admin
            .get(app.url("/admin/accounts"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("http://studio.test/password/reset/") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the link never reached the admin page"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
