//! The worker's side of the API: [`HttpStudio`] implements `jobs::remote::Studio` with
//! reqwest, so a `gala worker --studio URL` needs the studio's address and its worker token,
//! never database credentials.

use std::time::Duration;

use anyhow::Context;
use gala_pipeline::jobs::remote::{Leased, Studio};
use gala_pipeline::jobs::split::{BoxFuture, Capabilities};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::api::{Registered, Registration};

/// A registered worker's connection to the studio.
#[derive(Clone)]
pub struct HttpStudio {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for HttpStudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpStudio({})", self.base)
    }
}

impl HttpStudio {
    /// Registers with the studio at `base` (e.g. `https://studio.example`) using its worker
    /// token; returns the connection and what the studio said (the kinds it will lease, the
    /// lease length).
    pub async fn register(
        base: &str,
        studio_token: &str,
        name: &str,
        caps: &Capabilities,
    ) -> anyhow::Result<(HttpStudio, Registered)> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let base = base.trim_end_matches('/').to_string();
        let reg = Registration {
            name: name.to_string(),
            capabilities: caps.clone(),
        };
        let response = http
            .post(format!("{base}/api/workers/register"))
            .bearer_auth(studio_token)
            .json(&reg)
            .send()
            .await
            .with_context(|| format!("the studio at {base} does not answer"))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            anyhow::bail!(
                "the studio at {base} refused the worker token (check studio.worker_token there)"
            );
        }
        let registered: Registered = checked(response).await?.json().await?;
        let studio = HttpStudio {
            http,
            base,
            token: registered.token.clone(),
        };
        Ok((studio, registered))
    }

    /// The studio's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The worker's own token (for the object routes).
    pub fn token(&self) -> &str {
        &self.token
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<Option<T>> {
        let response = self
            .http
            .post(format!("{}/api/workers/{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("the studio at {} does not answer", self.base))?;
        let response = checked(response).await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        Ok(Some(response.json().await?))
    }

    async fn flag(&self, path: String, body: Value, field: &str) -> anyhow::Result<bool> {
        let answer: Option<Value> = self.post(&path, &body).await?;
        Ok(answer
            .and_then(|a| a.get(field).and_then(Value::as_bool))
            .unwrap_or(false))
    }

    /// Tells the studio this worker stopped; its token ends.
    pub async fn stopped(&self) -> anyhow::Result<()> {
        self.post::<Value>("stopped", &json!({})).await?;
        Ok(())
    }
}

/// The response, or an error that says what the studio answered.
async fn checked(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    anyhow::bail!(
        "the studio answered {status}: {}",
        text.chars().take(500).collect::<String>()
    )
}

impl Studio for HttpStudio {
    fn lease(
        &self,
        slot: u32,
        kinds: Vec<String>,
    ) -> BoxFuture<'_, anyhow::Result<Option<Leased>>> {
        Box::pin(async move {
            self.post("lease", &json!({ "slot": slot, "kinds": kinds }))
                .await
        })
    }

    fn heartbeat(
        &self,
        slot: u32,
        id: i64,
        progress: f64,
        note: Option<String>,
    ) -> BoxFuture<'_, anyhow::Result<bool>> {
        let body = json!({ "slot": slot, "progress": progress, "note": note });
        Box::pin(self.flag(format!("jobs/{id}/heartbeat"), body, "held"))
    }

    fn complete(&self, slot: u32, id: i64, output: Value) -> BoxFuture<'_, anyhow::Result<bool>> {
        let body = json!({ "slot": slot, "output": output });
        Box::pin(self.flag(format!("jobs/{id}/complete"), body, "applied"))
    }

    fn fail(
        &self,
        slot: u32,
        id: i64,
        error: String,
        retry: bool,
    ) -> BoxFuture<'_, anyhow::Result<bool>> {
        let body = json!({ "slot": slot, "error": error, "retry": retry });
        Box::pin(self.flag(format!("jobs/{id}/fail"), body, "applied"))
    }

    fn release(&self, slot: u32, id: i64) -> BoxFuture<'_, anyhow::Result<bool>> {
        Box::pin(self.flag(
            format!("jobs/{id}/release"),
            json!({ "slot": slot }),
            "applied",
        ))
    }
}
