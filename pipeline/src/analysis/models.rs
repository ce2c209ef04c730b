//! The one seam between the analysis jobs and the model code: a [`ModelLoader`] makes the model
//! of each role from the `models` configuration, and a [`ModelSet`] keeps what loaded for the
//! life of the worker (a model is loaded once, not once per clip).
//!
//! [`ConfiguredLoader`] is the production loader of this build; tests give the jobs loaders of
//! their own.

use std::sync::Arc;

use crate::ai::registry;
use crate::ai::{
    FrameModerator, ModelError, ModelsConfig, PolicyJudge, SpeechToText, TextModerator, Translator,
};

/// Makes the model of each role. Called again for a role whose last load failed, so a fixed
/// model directory is picked up without restarting the worker.
pub trait ModelLoader: Send + Sync {
    /// The captions model (`models.captions`).
    fn speech_to_text(&self, models: &ModelsConfig) -> Result<Box<dyn SpeechToText>, ModelError>;
    /// The text classifier (`models.text_moderation`).
    fn text_moderator(&self, models: &ModelsConfig) -> Result<Box<dyn TextModerator>, ModelError>;
    /// The keyframe classifier (`models.image_moderation`).
    fn frame_moderator(&self, models: &ModelsConfig)
        -> Result<Box<dyn FrameModerator>, ModelError>;
    /// The writer model as policy judge (`models.writer`).
    fn policy_judge(&self, models: &ModelsConfig) -> Result<Box<dyn PolicyJudge>, ModelError>;
    /// The writer model as translator (`models.writer`).
    fn translator(&self, models: &ModelsConfig) -> Result<Box<dyn Translator>, ModelError>;
}

/// The production loader: each role through `ai::registry` (the role's path, or its Hugging
/// Face cache snapshot), on the configured device. An empty family is
/// [`ModelError::NotConfigured`]; the writer's two extra roles are not configured unless
/// `models.writer.use_for_subtitles` / `use_for_policy` switch them on.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfiguredLoader;

impl ModelLoader for ConfiguredLoader {
    fn speech_to_text(&self, models: &ModelsConfig) -> Result<Box<dyn SpeechToText>, ModelError> {
        registry::load_captions(models)
    }
    fn text_moderator(&self, models: &ModelsConfig) -> Result<Box<dyn TextModerator>, ModelError> {
        registry::load_text_moderation(models)
    }
    fn frame_moderator(
        &self,
        models: &ModelsConfig,
    ) -> Result<Box<dyn FrameModerator>, ModelError> {
        Ok(Box::new(registry::load_image_classifier(models)?))
    }
    fn policy_judge(&self, models: &ModelsConfig) -> Result<Box<dyn PolicyJudge>, ModelError> {
        registry::load_policy_judge(models)
    }
    fn translator(&self, models: &ModelsConfig) -> Result<Box<dyn Translator>, ModelError> {
        registry::load_translator(models)
    }
}

/// The models a worker has loaded, one slot per role, filled on first use.
pub struct ModelSet {
    loader: Arc<dyn ModelLoader>,
    models: ModelsConfig,
    speech: Option<Box<dyn SpeechToText>>,
    text: Option<Box<dyn TextModerator>>,
    frames: Option<Box<dyn FrameModerator>>,
    judge: Option<Box<dyn PolicyJudge>>,
    translator: Option<Box<dyn Translator>>,
}

/// Fills `slot` through `load` when empty; a failed load leaves it empty for the next try.
fn get<T: ?Sized>(
    slot: &mut Option<Box<T>>,
    load: impl FnOnce() -> Result<Box<T>, ModelError>,
) -> Result<&mut T, ModelError> {
    let model = match slot.take() {
        Some(model) => model,
        None => load()?,
    };
    Ok(&mut **slot.insert(model))
}

impl ModelSet {
    /// An empty set that loads through `loader` from `models`.
    pub fn new(loader: Arc<dyn ModelLoader>, models: ModelsConfig) -> ModelSet {
        ModelSet {
            loader,
            models,
            speech: None,
            text: None,
            frames: None,
            judge: None,
            translator: None,
        }
    }

    pub fn speech_to_text(&mut self) -> Result<&mut (dyn SpeechToText + 'static), ModelError> {
        let (loader, models) = (&self.loader, &self.models);
        get(&mut self.speech, || loader.speech_to_text(models))
    }

    pub fn text_moderator(&mut self) -> Result<&mut (dyn TextModerator + 'static), ModelError> {
        let (loader, models) = (&self.loader, &self.models);
        get(&mut self.text, || loader.text_moderator(models))
    }

    pub fn frame_moderator(&mut self) -> Result<&mut (dyn FrameModerator + 'static), ModelError> {
        let (loader, models) = (&self.loader, &self.models);
        get(&mut self.frames, || loader.frame_moderator(models))
    }

    pub fn policy_judge(&mut self) -> Result<&mut (dyn PolicyJudge + 'static), ModelError> {
        let (loader, models) = (&self.loader, &self.models);
        get(&mut self.judge, || loader.policy_judge(models))
    }

    pub fn translator(&mut self) -> Result<&mut (dyn Translator + 'static), ModelError> {
        let (loader, models) = (&self.loader, &self.models);
        get(&mut self.translator, || loader.translator(models))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_family_is_not_configured_and_another_is_a_load_error() {
        let mut models = ModelsConfig::default();
        models.text_moderation.family = "xlm-roberta".into();
        models.text_moderation.path = "/models/text".into();
        let mut set = ModelSet::new(Arc::new(ConfiguredLoader), models);
        assert!(matches!(
            set.speech_to_text().err(),
            Some(ModelError::NotConfigured { role: "captions" })
        ));
        match set.text_moderator().err() {
            Some(ModelError::Load {
                role, family, path, ..
            }) => {
                assert_eq!(
                    (role, family.as_str(), path.as_str()),
                    ("text_moderation", "xlm-roberta", "/models/text")
                );
            }
            other => panic!("expected a load error, got {other:?}"),
        }
        assert!(set.frame_moderator().is_err());
        assert!(set.policy_judge().is_err());
        assert!(set.translator().is_err());
    }
}
