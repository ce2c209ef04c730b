//! Chat prompts: the model's own chat template (Jinja, as in `tokenizer_config.json` or the
//! GGUF metadata `tokenizer.chat_template`) rendered with minijinja, ChatML when it has none.

use minijinja::{context, Environment, Error, ErrorKind};
use serde::Serialize;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Message {
        Message {
            role: "system".into(),
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: "user".into(),
            content: content.into(),
        }
    }
}

/// ChatML, the format of Qwen models, used when a model brings no template.
pub const CHATML: &str = "{% for message in messages %}<|im_start|>{{ message.role }}\n\
{{ message.content }}<|im_end|>\n{% endfor %}\
{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/// A chat template with the special tokens it may refer to.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
    /// True when the model brought no template and ChatML is used.
    pub is_fallback: bool,
}

impl ChatTemplate {
    /// The model's template; `None` gives ChatML. The template is checked by rendering a
    /// system and a user message, so that a broken template fails at load time.
    pub fn new(
        source: Option<String>,
        bos_token: &str,
        eos_token: &str,
    ) -> Result<ChatTemplate, String> {
        let is_fallback = source.as_deref().is_none_or(|s| s.trim().is_empty());
        let template = ChatTemplate {
            source: match source {
                Some(s) if !is_fallback => s,
                _ => CHATML.to_string(),
            },
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
            is_fallback,
        };
        template.render(&[Message::system("s"), Message::user("u")])?;
        Ok(template)
    }

    /// ChatML.
    pub fn chatml() -> ChatTemplate {
        ChatTemplate {
            source: CHATML.to_string(),
            bos_token: String::new(),
            eos_token: "<|im_end|>".into(),
            is_fallback: true,
        }
    }

    /// The prompt for `messages`, ending where the assistant's answer starts.
    pub fn render(&self, messages: &[Message]) -> Result<String, String> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        let template = env
            .template_from_str(&self.source)
            .map_err(|e| format!("chat template: {e}"))?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => true,
                enable_thinking => false,
                bos_token => self.bos_token,
                eos_token => self.eos_token,
            })
            .map_err(|e| format!("chat template: {e}"))
    }
}

/// The `content` of a special token in `tokenizer_config.json`: a string or `{content: …}`.
pub fn token_content(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// The chat template of `tokenizer_config.json`: a string, or a list of named templates of
/// which `default` is taken.
pub fn template_source(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(list) => list.iter().find_map(|t| {
            (t.get("name")?.as_str()? == "default")
                .then(|| t.get("template")?.as_str().map(str::to_string))?
        }),
        _ => None,
    }
}
