//! Loading (with validation that names the JSON path) and atomic saving.

use super::{HintError, HintSet, SCHEMA_VERSION};
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

    /// Parse and validate. `origin` names the source in errors (a path, or "<string>").
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
        match raw.get("schema_version").map(|v| v.as_u64()) {
            Some(Some(v)) if v == u64::from(SCHEMA_VERSION) => {}
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
        }
        let hs: HintSet = serde_path_to_error::deserialize(raw).map_err(|e| HintError::Parse {
            origin: origin.clone(),
            json_path: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
        hs.validate(&origin)?;
        Ok(hs)
    }

    /// Check what serde cannot: cross references and orderings.
    pub fn validate(&self, origin: &str) -> Result<(), HintError> {
        let bad =
            |json_path: String, message: String| HintError::Invalid { origin: origin.to_string(), json_path, message };
        let stages = self.workflow.stages();
        if self.hints.len() != stages.len() {
            return Err(bad(
                "hints".into(),
                format!("{} hints for {} stages of the workflow", self.hints.len(), stages.len()),
            ));
        }
        if let Some(c) = &self.classes {
            if self.workflow.stage_index(&c.function).is_none() {
                return Err(bad("classes.function".into(), format!("'{}' is not a stage of the workflow", c.function)));
            }
            for (i, w) in c.boundaries.windows(2).enumerate() {
                if w[0] >= w[1] || w[0].is_nan() || w[1].is_nan() {
                    return Err(bad(
                        format!("classes.boundaries[{}]", i + 1),
                        "boundaries must ascend strictly".into(),
                    ));
                }
            }
            if let Some(i) = c.boundaries.iter().position(|b| !b.is_finite()) {
                return Err(bad(format!("classes.boundaries[{i}]"), "must be a finite number".into()));
            }
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
            if !h.options.contains(&h.fastest) {
                return Err(bad(at(".fastest"), format!("{} is not one of the options", h.fastest)));
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
            if let Some(q) = s.mix {
                if !(q > 0.0 && q < 1.0) {
                    return Err(bad(format!("summary[{t_i}].mix"), format!("{q} is not a share in (0, 1)")));
                }
            }
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
