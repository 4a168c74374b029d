//! Opening a study: from a storage flag and a name, with its kind read once and its
//! budget saved where every worker finds it.

use std::sync::Arc;

use anyhow::anyhow;
use s3tune_hpo::{Budget, Store, Study, StudySpec};

use super::StudyKind;
use crate::commands::storage::{self, Location};

/// An open study.
pub struct Session {
    /// Where it is.
    pub store: Arc<dyn Store>,
    /// Where, as the user wrote it.
    pub location: Location,
    /// The study as stored.
    pub study: Study,
    /// What it tunes.
    pub kind: StudyKind,
}

/// A study that may exist: the store (when there is one) and the study (when it has it).
pub struct Found {
    /// The store, if it exists (none is created to look).
    pub store: Option<Arc<dyn Store>>,
    /// The study and its kind, if the store has it.
    pub study: Option<(Study, StudyKind)>,
}

impl Found {
    /// Looks for study `name` at `location`, creating nothing.
    pub fn look(location: &Location, name: &str) -> anyhow::Result<Self> {
        let store = storage::open_existing(location)?;
        let study = match &store {
            Some(s) => s.study(name)?,
            None => None,
        };
        let study = study
            .map(|s| StudyKind::of(&s).map(|k| (s, k)))
            .transpose()?;
        Ok(Self { store, study })
    }

    /// The stored kind, if the study exists.
    pub fn kind(&self) -> Option<&StudyKind> {
        self.study.as_ref().map(|(_, k)| k)
    }

    /// The stored definition, if the study exists.
    pub fn spec(&self) -> Option<&StudySpec> {
        self.study.as_ref().map(|(s, _)| &s.spec)
    }

    /// Creates the study (making the store if need be), or opens it when it exists with
    /// the same definition.
    pub fn open(self, location: Location, spec: &StudySpec) -> anyhow::Result<Session> {
        let store = match self.store {
            Some(s) => s,
            None => storage::open_at(&location)?,
        };
        let study = store.open_or_create(spec)?;
        let kind = StudyKind::of(&study)?;
        Ok(Session {
            store,
            location,
            study,
            kind,
        })
    }
}

impl Session {
    /// Joins the existing study `name` at the storage `flag` (a worker): one line when
    /// the storage or the study is not there, saying how to make it.
    pub fn join(flag: &str, name: &str) -> anyhow::Result<Self> {
        let location = storage::parse(Some(flag), std::path::Path::new("."))?;
        let store = storage::open_existing(&location)?.ok_or_else(|| {
            anyhow!("--storage {flag}: no such file; a worker joins a study that exists")
        })?;
        let study = store.study(name)?.ok_or_else(|| {
            let known = store.studies().unwrap_or_default();
            let again = location.flag(store.as_ref());
            anyhow!(
                "no study named `{name}` in {}{}; create it with `s3tune study create --storage {again} …` or `s3tune tune --storage {again} …`",
                store.location(),
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (it has {})", known.join(", "))
                },
            )
        })?;
        let kind = StudyKind::of(&study)?;
        Ok(Self {
            store,
            location,
            study,
            kind,
        })
    }

    /// The study's name.
    pub fn name(&self) -> &str {
        &self.study.spec.name
    }

    /// The study's budget as last saved.
    pub fn budget(&self) -> anyhow::Result<Budget> {
        Ok(self.store.budget(&self.study)?)
    }

    /// What to write after `--storage` to reach this store again.
    pub fn again(&self) -> String {
        self.location.flag(self.store.as_ref())
    }

    /// Records `budget` as the study's; when only creating the study, says how to start
    /// its workers.
    pub fn save_budget(&self, budget: &Budget, create_only: bool) -> anyhow::Result<()> {
        self.store.set_budget(&self.study, budget)?;
        if create_only {
            let name = self.name();
            println!("study {name} created in {}", self.store.location());
            println!(
                "start workers with: s3tune worker --storage {} --study {name}",
                self.again()
            );
        }
        Ok(())
    }
}
