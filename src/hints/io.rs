//! Loading (with validation that names the JSON path) and atomic saving.

use super::wire::{HintSetV2, HintSetV3};
use super::{Classifier, HintError, HintSet, Node, SCHEMA_VERSION};
use crate::file_io::{read_document, save_atomic};
use std::path::Path;

impl HintSet {
    /// Indented JSON, for people reading the file.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a hint set always serializes")
    }

    /// Compact JSON: what is saved and shipped to the provider.
    pub fn to_json_compact(&self) -> String {
        serde_json::to_string(self).expect("a hint set always serializes")
    }

    /// Size in bytes of the compact form.
    pub fn size_bytes(&self) -> usize {
        self.to_json_compact().len()
    }

    /// Parse and validate. `origin` names the source in errors (a path, or
    /// "<string>"). Reads schema versions 2 and 3 (see `wire.rs`).
    pub fn from_json(text: &str, origin: &str) -> Result<HintSet, HintError> {
        let origin = origin.to_string();
        // Check the version first, so a future file is refused for the right reason.
        let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            if e.is_eof() {
                HintError::Truncated { origin: origin.clone(), message: e.to_string() }
            } else {
                HintError::Parse { origin: origin.clone(), json_path: "$".into(), message: e.to_string() }
            }
        })?;
        let version = match raw.get("schema_version").map(|v| v.as_u64()) {
            Some(Some(v)) if v == u64::from(SCHEMA_VERSION) || v == 2 => v,
            Some(Some(found)) => return Err(HintError::Version { origin, found, supported: SCHEMA_VERSION }),
            Some(None) => {
                return Err(HintError::Invalid {
                    origin,
                    json_path: "schema_version".into(),
                    message: "must be a non-negative integer".into(),
                })
            }
            None => {
                return Err(HintError::Invalid {
                    origin,
                    json_path: "schema_version".into(),
                    message: "missing: not a Janus hint set?".into(),
                })
            }
        };
        let parse_error = |e: serde_path_to_error::Error<serde_json::Error>| HintError::Parse {
            origin: origin.clone(),
            json_path: e.path().to_string(),
            message: e.inner().to_string(),
        };
        let hs: HintSet = if version == 2 {
            serde_path_to_error::deserialize::<_, HintSetV2>(raw).map_err(parse_error)?.into()
        } else {
            serde_path_to_error::deserialize::<_, HintSetV3>(raw)
                .map_err(parse_error)?
                .resolve()
                .map_err(|(json_path, message)| HintError::Invalid { origin: origin.clone(), json_path, message })?
        };
        hs.validate(&origin)?;
        Ok(hs)
    }

    /// Check what serde cannot: cross references and orderings. Every reader
    /// of a hint set (adapter, CLI, plots) may rely on what passes here.
    pub fn validate(&self, origin: &str) -> Result<(), HintError> {
        let bad =
            |json_path: String, message: String| HintError::Invalid { origin: origin.to_string(), json_path, message };
        let stages = self.workflow.stages();
        let digest = self.workflow.digest();
        if self.provenance.workflow_digest != digest {
            return Err(bad(
                "provenance.workflow_digest".into(),
                "does not match the embedded workflow (edited by hand? re-synthesize instead)".into(),
            ));
        }
        if self.hints.len() != stages.len() {
            return Err(bad(
                "hints".into(),
                format!("{} hints for {} stages of the workflow", self.hints.len(), stages.len()),
            ));
        }
        if let Some(c) = &self.classes {
            validate_classifier(c, self.workflow.features()).map_err(|(p, m)| bad(format!("classes{p}"), m))?;
        }
        let ntables = self.tables_per_hint();
        for (h_i, (h, st)) in self.hints.iter().zip(stages).enumerate() {
            let at = |rest: &str| format!("hints[{h_i}]{rest}");
            if h.function != st.name {
                return Err(bad(at(".function"), format!("'{}' but stage {h_i} is '{}'", h.function, st.name)));
            }
            if h.options != st.options {
                return Err(bad(at(".options"), "differ from the workflow's options for this stage".into()));
            }
            for (field, s) in [(".fastest", &h.fastest), (".fallback", &h.fallback)] {
                if !h.options.contains(s) {
                    return Err(bad(at(field), format!("{s} is not one of the options")));
                }
            }
            if h.tables.len() != ntables {
                return Err(bad(at(".tables"), format!("{} tables, expected {ntables}", h.tables.len())));
            }
            if !h.alt_tables.is_empty() && h.alt_tables.len() != ntables {
                return Err(bad(at(".alt_tables"), format!("{} tables, expected 0 or {ntables}", h.alt_tables.len())));
            }
            for (t_i, s) in self.summary.iter().enumerate().filter(|(_, s)| s.mix.is_some()) {
                if h.alt_tables.get(t_i).is_none_or(|t| t.rules.is_empty()) {
                    return Err(bad(
                        at(&format!(".alt_tables[{t_i}]")),
                        format!("summary[{t_i}] mixes {:?} of runs into a missing or empty table", s.mix),
                    ));
                }
            }
            let all = h.tables.iter().map(|t| ("tables", t)).chain(h.alt_tables.iter().map(|t| ("alt_tables", t)));
            let mut counters = [0usize; 2];
            for (kind, t) in all {
                let t_i = {
                    let c = &mut counters[usize::from(kind == "alt_tables")];
                    *c += 1;
                    *c - 1
                };
                let mut prev = f64::NEG_INFINITY;
                for (r_i, r) in t.rules.iter().enumerate() {
                    let rp = |f: &str| at(&format!(".{kind}[{t_i}].rules[{r_i}]{f}"));
                    if !r.min_remaining_ms.is_finite() || r.min_remaining_ms < 0.0 {
                        return Err(bad(
                            rp(".min_remaining_ms"),
                            format!("{} is not a finite number >= 0", r.min_remaining_ms),
                        ));
                    }
                    if r.min_remaining_ms <= prev {
                        return Err(bad(
                            rp(".min_remaining_ms"),
                            "rules must ascend strictly by min_remaining_ms".into(),
                        ));
                    }
                    prev = r.min_remaining_ms;
                    if r.sizes.is_empty() {
                        return Err(bad(rp(".sizes"), "a rule needs at least one size".into()));
                    }
                    if let Some((s_i, s)) = r.sizes.iter().enumerate().find(|(_, s)| !h.options.contains(s)) {
                        return Err(bad(
                            rp(&format!(".sizes[{s_i}]")),
                            format!("{s} is not one of the function's options"),
                        ));
                    }
                }
            }
        }
        if self.summary.len() != ntables {
            return Err(bad("summary".into(), format!("{} entries, expected {ntables}", self.summary.len())));
        }
        for (t_i, s) in self.summary.iter().enumerate() {
            let want = (t_i + 1 < ntables).then_some(t_i);
            if s.class != want {
                return Err(bad(
                    format!("summary[{t_i}].class"),
                    format!(
                        "{:?} but table {t_i} is {}",
                        s.class,
                        want.map_or("the unconditioned one".into(), |c| format!("class {c}"))
                    ),
                ));
            }
            if !(s.weight.is_finite() && (0.0..=1.0).contains(&s.weight)) {
                return Err(bad(format!("summary[{t_i}].weight"), format!("{} is not a share in [0, 1]", s.weight)));
            }
            for (f, v) in [("expected_cost", s.expected_cost), ("miss_probability", s.miss_probability)] {
                if !v.is_finite() || v < 0.0 {
                    return Err(bad(format!("summary[{t_i}].{f}"), format!("{v} is not a finite number >= 0")));
                }
            }
            match (s.mix, s.primary) {
                (Some(q), Some(_)) if q > 0.0 && q < 1.0 => {}
                (Some(q), Some(_)) => {
                    return Err(bad(format!("summary[{t_i}].mix"), format!("{q} is not a share in (0, 1)")));
                }
                (None, None) => {}
                _ => {
                    return Err(bad(
                        format!("summary[{t_i}]"),
                        "a mixed table needs both `mix` and `primary` (and an unmixed one neither)".into(),
                    ))
                }
            }
        }
        let p = &self.plan;
        for (f, v) in [
            ("expected_cost", p.expected_cost),
            ("miss_probability", p.miss_probability),
            ("miss_target", p.miss_target),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(bad(format!("plan.{f}"), format!("{v} is not a finite number >= 0")));
            }
        }
        if !p.candidates.iter().any(|c| c.name == p.chosen) {
            return Err(bad("plan.chosen".into(), format!("'{}' is not one of the candidates", p.chosen)));
        }
        Ok(())
    }

    /// Write atomically (see [`crate::file_io`]): a crash never leaves a
    /// half-written hint set, only a regular file is ever replaced, a new
    /// file honours the umask and an existing one keeps its mode.
    pub fn save(&self, path: &Path) -> Result<(), HintError> {
        Ok(save_atomic(path, self.to_json_compact().as_bytes())?)
    }

    /// Read (a regular file of at most [`crate::file_io::MAX_FILE_BYTES`]) and validate.
    pub fn load(path: &Path) -> Result<HintSet, HintError> {
        let text = read_document(path)?;
        HintSet::from_json(&text, &path.display().to_string())
    }
}

/// A classifier tree must read the workflow's features, have its children
/// after their parent, every node but the root reached exactly once, and
/// leaves numbered 0..count each once. Errors: (JSON path suffix, message).
fn validate_classifier(c: &Classifier, features: &[String]) -> Result<(), (String, String)> {
    if c.features != features {
        return Err((
            ".features".into(),
            format!("{:?} but the workflow's request features are {features:?}", c.features),
        ));
    }
    if c.nodes.is_empty() {
        return Err((".nodes".into(), "a classifier needs at least one node".into()));
    }
    let n = c.nodes.len();
    let mut parents = vec![0usize; n];
    let mut leaves = vec![false; n];
    for (i, node) in c.nodes.iter().enumerate() {
        let at = |f: &str| format!(".nodes[{i}]{f}");
        match *node {
            Node::Leaf { class } => {
                if class >= n || std::mem::replace(&mut leaves[class], true) {
                    return Err((at(".leaf.class"), format!("class {class} is out of range or used twice")));
                }
            }
            Node::Split { feature, threshold, below, above } => {
                if feature >= features.len() {
                    return Err((at(".split.feature"), format!("{feature} but there are {} features", features.len())));
                }
                if !threshold.is_finite() {
                    return Err((at(".split.threshold"), format!("{threshold} is not finite")));
                }
                for (f, child) in [(".split.below", below), (".split.above", above)] {
                    if child <= i || child >= n {
                        return Err((at(f), format!("{child} must be a later node (after {i}, before {n})")));
                    }
                    parents[child] += 1;
                }
            }
        }
    }
    if let Some(i) = (1..n).find(|&i| parents[i] != 1) {
        return Err((format!(".nodes[{i}]"), format!("reached from {} parents, expected exactly 1", parents[i])));
    }
    let count = c.count();
    if leaves.iter().take(count).any(|l| !l) {
        return Err((".nodes".into(), format!("leaves must be numbered 0..{count} without gaps")));
    }
    Ok(())
}
