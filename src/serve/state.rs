//! What the service holds: one adapter per workflow, the hint set in force
//! of each (swapped atomically), the data folder and the log writer.
//!
//! Installing a hint set (at start, through the API, or after a
//! re-synthesis) is: save it in the data folder, log a `hints` record of its
//! new generation, swap it into the adapter. Decisions never wait for that:
//! they read whichever hint set is in force.

use super::call::FeatureSchema;
use super::config::ServeConfig;
use super::error::{ApiError, ServeError};
use super::metrics::{FnMetrics, Metrics};
use super::store::{hints_digest, read_hint_sources, DataDir, InstalledFile};
use super::writer::LogWriter;
use crate::adapter::{Adapter, LogRecord, ObservationLog, Replay};
use crate::hints::HintSet;
use crate::profile::Profile;
use arc_swap::{ArcSwap, ArcSwapOption};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Workflows one service holds at most (each has windows, metrics and files).
pub const MAX_WORKFLOWS: usize = 1024;

/// The hint set in force for one workflow, with what is derived from it.
pub struct Installed {
    pub generation: u64,
    /// The adapter's observation epoch for this generation.
    pub epoch: u64,
    pub digest: String,
    pub base: Option<String>,
    pub origin: String,
    pub schema: FeatureSchema,
    pub metrics: HashMap<String, FnMetrics>,
}

impl Installed {
    fn new(f: &InstalledFile, epoch: u64, metrics: &Metrics) -> Installed {
        metrics.installed(f.hints.workflow.name(), f.generation, &f.origin);
        Installed {
            generation: f.generation,
            epoch,
            digest: hints_digest(&f.hints),
            base: f.base.clone(),
            origin: f.origin.clone(),
            schema: FeatureSchema::of(&f.hints),
            metrics: metrics.for_hints(&f.hints),
        }
    }
}

/// One served workflow.
pub struct Served {
    pub name: String,
    pub adapter: Adapter,
    pub installed: ArcSwap<Installed>,
    /// The profile the hints in force were built from, for drift checks.
    pub baseline: ArcSwapOption<Profile>,
    /// Installs of this workflow happen one at a time.
    install: tokio::sync::Mutex<()>,
}

impl Served {
    fn new(f: &InstalledFile, adapter: Adapter, baseline: Option<Profile>, metrics: &Metrics) -> Served {
        let installed = Installed::new(f, adapter.observations().epoch(), metrics);
        Served {
            name: f.hints.workflow.name().to_string(),
            adapter,
            installed: ArcSwap::from_pointee(installed),
            baseline: ArcSwapOption::from(baseline.map(Arc::new)),
            install: tokio::sync::Mutex::new(()),
        }
    }
}

/// Decision-latency histograms, one per endpoint.
pub struct Timers {
    pub decide: prometheus_client::metrics::histogram::Histogram,
    pub decide_batch: prometheus_client::metrics::histogram::Histogram,
}

pub struct State {
    pub timers: Timers,
    pub workflows: ArcSwap<BTreeMap<String, Arc<Served>>>,
    pub data: Arc<DataDir>,
    pub writer: LogWriter,
    pub metrics: Arc<Metrics>,
    pub config: ServeConfig,
    /// Adding a new workflow (copy-on-write of the map) happens one at a time.
    add: tokio::sync::Mutex<()>,
    pub writer_thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl State {
    /// Open the data folder, replay the log, choose each workflow's hint set
    /// in force and fill its windows. Runs before the service listens.
    pub fn start(config: ServeConfig) -> Result<State, ServeError> {
        let data = DataDir::open(&config.data)?;
        let (log, mut replay) = ObservationLog::open(data.root(), config.window, config.compact_at)?;
        for w in &replay.warnings {
            eprintln!("janus serve: warning: {w}");
        }
        let metrics = Arc::new(Metrics::new());
        let m = metrics.clone();
        let (writer, thread) = LogWriter::start(log, Arc::new(move |n| m.set_log_bytes(n)));
        let sources = read_hint_sources(&config.hints)?;
        let mut names: Vec<String> = data.installed_workflows()?;
        names.extend(sources.iter().map(|(h, _)| h.workflow.name().to_string()));
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(ServeError::NoHints);
        }
        let extra_profiles = read_profiles(&config.profiles)?;
        let mut map = BTreeMap::new();
        for wf in names {
            let from_file = sources.iter().find(|(h, _)| h.workflow.name() == wf).map(|(h, _)| h.clone());
            let inst = in_force(&data, &wf, from_file, &replay)?;
            let served = Self::restore(&data, &writer, &metrics, &config, inst, &mut replay, &extra_profiles)?;
            map.insert(wf, Arc::new(served));
        }
        // A --profile is matched to a hint set by the digest the hints name:
        // one that matches none would leave drift checks off without a word.
        for (path, p) in config.profiles.iter().zip(&extra_profiles) {
            let d = p.digest();
            if !map.values().any(|s: &Arc<Served>| s.adapter.hints().provenance.profile_digest == d) {
                eprintln!(
                    "janus serve: warning: --profile {}: no hint set served was synthesized from it (its digest {d} \
                     is no hint set's profile_digest): not used as a drift baseline",
                    path.display()
                );
            }
        }
        Ok(State {
            timers: Timers {
                decide: metrics.decision_timer("decide"),
                decide_batch: metrics.decision_timer("decide_batch"),
            },
            workflows: ArcSwap::from_pointee(map),
            data: Arc::new(data),
            writer,
            metrics,
            config,
            add: tokio::sync::Mutex::new(()),
            writer_thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Build one served workflow from its hint set in force and the log.
    fn restore(
        data: &DataDir,
        writer: &LogWriter,
        metrics: &Metrics,
        config: &ServeConfig,
        f: InstalledFile,
        replay: &mut Replay,
        extra_profiles: &[Profile],
    ) -> Result<Served, ServeError> {
        let wf = f.hints.workflow.name().to_string();
        let digest = hints_digest(&f.hints);
        if replay.latest.get(&wf) != Some(&(f.generation, digest.clone())) {
            writer
                .append_blocking(vec![LogRecord::Hints { wf: wf.clone(), g: f.generation, digest: digest.clone() }])
                .map_err(|why| ServeError::DataDir { path: data.root().to_path_buf(), why })?;
        }
        let adapter = Adapter::with_window(f.hints.clone(), config.window);
        let mut restored = 0usize;
        for ((function, size, class), lat) in replay.take_windows(&wf, f.generation) {
            for ms in lat {
                adapter.observations().record(&function, size, class, ms);
                restored += 1;
            }
        }
        if restored > 0 {
            eprintln!("janus serve: {wf}: {restored} observations restored from the log");
        }
        // The baseline for drift: the profile the hints were synthesized from
        // (the data folder's, else a --profile, by the digest the hints name);
        // else the data folder's while it still fits the workflow (one the
        // operator PUT: acknowledged, so kept across restarts).
        let want = &f.hints.provenance.profile_digest;
        let saved = data.load_profile(&wf)?.filter(|p| match p.check_covers(&f.hints.workflow) {
            Ok(()) => true,
            Err(why) => {
                eprintln!("janus serve: warning: {wf}: the saved baseline profile no longer fits the workflow ({why}): not used");
                false
            }
        });
        let baseline = match saved {
            Some(p) if p.digest() == *want => Some(p),
            saved => extra_profiles.iter().find(|p| p.digest() == *want).cloned().or(saved),
        };
        Ok(Served::new(&f, adapter, baseline, metrics))
    }

    pub fn get(&self, workflow: &str) -> Result<Arc<Served>, ApiError> {
        let map = self.workflows.load();
        map.get(workflow).cloned().ok_or_else(|| ApiError::UnknownWorkflow {
            workflow: workflow.to_string(),
            known: map.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// Install `hints` for its workflow (new or replacing): persisted and
    /// logged before it is swapped in. `baseline` replaces the drift
    /// baseline when given (a re-synthesis brings its corrected profile).
    pub async fn install(
        &self,
        hints: HintSet,
        origin: &str,
        baseline: Option<Profile>,
    ) -> Result<(Arc<Served>, bool), ApiError> {
        let wf = hints.workflow.name().to_string();
        crate::model::check_name(&wf)
            .map_err(|why| ApiError::BadRequest(format!("workflow name '{wf}' cannot be served: {why}")))?;
        let existing = self.workflows.load().get(&wf).cloned();
        let Some(served) = existing else {
            return self.add_workflow(hints, origin, baseline).await.map(|s| (s, false));
        };
        let guard = served.install.lock().await;
        let cur = served.installed.load_full();
        // The hint set in force, sent again (a retried PUT): nothing changes,
        // so the generation stays and the observation windows are kept.
        if baseline.is_none() && hints_digest(&hints) == cur.digest {
            drop(guard);
            return Ok((served, true));
        }
        let f = InstalledFile { generation: cur.generation + 1, base: cur.base.clone(), origin: origin.into(), hints };
        self.persist(&f, baseline.as_ref()).await?;
        served.adapter.swap(f.hints.clone())?;
        served.installed.store(Arc::new(Installed::new(&f, served.adapter.observations().epoch(), &self.metrics)));
        if let Some(p) = baseline {
            served.baseline.store(Some(Arc::new(p)));
        }
        drop(guard);
        Ok((served, true))
    }

    async fn add_workflow(
        &self,
        hints: HintSet,
        origin: &str,
        baseline: Option<Profile>,
    ) -> Result<Arc<Served>, ApiError> {
        let _g = self.add.lock().await;
        let wf = hints.workflow.name().to_string();
        if self.workflows.load().len() >= MAX_WORKFLOWS {
            return Err(ApiError::Conflict(format!(
                "this service already serves {MAX_WORKFLOWS} workflows: run another one for '{wf}'"
            )));
        }
        if self.workflows.load().contains_key(&wf) {
            // Added meanwhile: replace instead.
            drop(_g);
            return Box::pin(self.install(hints, origin, baseline)).await.map(|(s, _)| s);
        }
        let f = InstalledFile { generation: 1, base: None, origin: origin.into(), hints };
        self.persist(&f, baseline.as_ref()).await?;
        let adapter = Adapter::with_window(f.hints.clone(), self.config.window);
        let served = Arc::new(Served::new(&f, adapter, baseline, &self.metrics));
        let mut map = (**self.workflows.load()).clone();
        map.insert(wf, served.clone());
        self.workflows.store(Arc::new(map));
        Ok(served)
    }

    /// Save the hint set (and baseline) and log its generation, off the async workers.
    async fn persist(&self, f: &InstalledFile, baseline: Option<&Profile>) -> Result<(), ApiError> {
        let unavailable = |e: String| ApiError::Unavailable(e);
        let wf = f.hints.workflow.name().to_string();
        let record = LogRecord::Hints { wf: wf.clone(), g: f.generation, digest: hints_digest(&f.hints) };
        let (file, base, data) = (f.clone(), baseline.cloned(), self.data.clone());
        // fsync blocks: off the async workers.
        tokio::task::spawn_blocking(move || -> Result<(), ServeError> {
            if let Some(p) = &base {
                data.save_profile(&wf, p)?;
            }
            data.save_installed(&file)
        })
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .map_err(|e| unavailable(e.to_string()))?;
        self.writer.append(vec![record]).await.map_err(unavailable)
    }

    /// Set the baseline profile of a workflow (persisted).
    pub async fn set_baseline(&self, served: &Served, p: Profile) -> Result<(), ApiError> {
        let p = Arc::new(p);
        let (data, wf, q) = (self.data.clone(), served.name.clone(), p.clone());
        tokio::task::spawn_blocking(move || data.save_profile(&wf, &q))
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        served.baseline.store(Some(p));
        Ok(())
    }
}

/// The hint set in force for `wf` at start: the data folder's copy, unless
/// the `--hints` file it derives from has changed since (then the file wins).
fn in_force(
    data: &DataDir,
    wf: &str,
    from_file: Option<HintSet>,
    replay: &Replay,
) -> Result<InstalledFile, ServeError> {
    let saved = data.load_installed(wf)?;
    let Some(file_hints) = from_file else {
        return Ok(saved.expect("a workflow comes from --hints or from the data folder"));
    };
    let file_digest = hints_digest(&file_hints);
    if let Some(s) = &saved {
        if s.base.as_deref() == Some(file_digest.as_str()) {
            return Ok(s.clone());
        }
    }
    let last = saved.as_ref().map_or(0, |s| s.generation).max(replay.latest.get(wf).map_or(0, |l| l.0));
    let f = InstalledFile { generation: last + 1, base: Some(file_digest), origin: "file".into(), hints: file_hints };
    if let Some(s) = &saved {
        eprintln!(
            "janus serve: {wf}: the --hints file changed since generation {} ({}) was installed: it is in force now",
            s.generation, s.origin
        );
    }
    data.save_installed(&f)?;
    Ok(f)
}

fn read_profiles(paths: &[std::path::PathBuf]) -> Result<Vec<Profile>, ServeError> {
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|source| ServeError::Io { path: p.clone(), source })?;
            Profile::from_json(&text).map_err(|why| ServeError::Profile { path: p.clone(), why })
        })
        .collect()
}
