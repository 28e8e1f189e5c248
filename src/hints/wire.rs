//! The JSON layouts of a hint set: version 3 (written), version 2 (still read).
//!
//! Version 3 writes a size of a function as its index in the function's
//! options (the workflow's `stages[i].options`, in the same document), a
//! rule as a pair `[min_remaining_ms, [size index, ...]]`, and no longer
//! repeats each function's options in its hint: a 10-stage hint set with 8
//! sizes per stage is about a third of its version 2 size, with the same
//! content. In memory both read into the same [`HintSet`].

use super::{Classifier, Hint, HintSet, Late, PlanSummary, Provenance, RuleTable, TableSummary};
use super::{Rule, SCHEMA_VERSION};
use crate::model::{Size, Workflow};
use serde::ser::Error as _;
use serde::{Deserialize, Serialize, Serializer};

/// A version 3 rule: `[min_remaining_ms, [size index, ...]]`.
type RuleV3 = (f64, Vec<usize>);

#[derive(Serialize, Deserialize)]
pub(super) struct TableV3 {
    rules: Vec<RuleV3>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct HintV3 {
    function: String,
    /// Indices in the function's options.
    fastest: usize,
    fallback: usize,
    tables: Vec<TableV3>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    alt_tables: Vec<TableV3>,
}

/// Version 3, as written (borrowing what needs no conversion).
#[derive(Serialize)]
struct HintSetOut<'a> {
    schema_version: u32,
    workflow: &'a Workflow,
    late: Late,
    classes: &'a Option<Classifier>,
    hints: Vec<HintV3>,
    summary: &'a [TableSummary],
    plan: &'a PlanSummary,
    provenance: &'a Provenance,
    warnings: &'a [String],
}

/// A hint set as read, generic in the layout of its hints (the only part
/// versions 2 and 3 write differently).
#[derive(Deserialize)]
pub(super) struct HintSetIn<H> {
    #[allow(dead_code)]
    schema_version: u32,
    workflow: Workflow,
    #[serde(default)]
    late: Late,
    #[serde(default)]
    classes: Option<Classifier>,
    hints: Vec<H>,
    summary: Vec<TableSummary>,
    plan: PlanSummary,
    provenance: Provenance,
    #[serde(default)]
    warnings: Vec<String>,
}

/// Version 3, as read: sizes as indices, resolved by [`HintSetV3::resolve`].
pub(super) type HintSetV3 = HintSetIn<HintV3>;
/// Version 2: every size written out, each hint with its options.
pub(super) type HintSetV2 = HintSetIn<Hint>;

impl From<HintSetV2> for HintSet {
    /// A version 2 file in memory is the same hint set; it is written back as version 3.
    fn from(v: HintSetV2) -> HintSet {
        HintSet {
            schema_version: SCHEMA_VERSION,
            workflow: v.workflow,
            late: v.late,
            classes: v.classes,
            hints: v.hints,
            summary: v.summary,
            plan: v.plan,
            provenance: v.provenance,
            warnings: v.warnings,
        }
    }
}

impl HintSetV3 {
    /// Resolve the size indices against the workflow's options. Errors:
    /// (JSON path, message).
    pub(super) fn resolve(self) -> Result<HintSet, (String, String)> {
        let stages = self.workflow.stages();
        let mut hints = Vec::with_capacity(self.hints.len());
        for (h_i, h) in self.hints.into_iter().enumerate() {
            let st = stages.get(h_i).ok_or_else(|| {
                ("hints".to_string(), format!("{} hints for {} stages of the workflow", h_i + 1, stages.len()))
            })?;
            let options = &st.options;
            let size = |path: String, i: usize| -> Result<Size, (String, String)> {
                options.get(i).copied().ok_or_else(|| {
                    (path, format!("option {i} but '{}' has {} options (0..{})", st.name, options.len(), options.len()))
                })
            };
            let tables = |kind: &str, ts: Vec<TableV3>| -> Result<Vec<RuleTable>, (String, String)> {
                ts.into_iter()
                    .enumerate()
                    .map(|(t_i, t)| {
                        let rules = t
                            .rules
                            .into_iter()
                            .enumerate()
                            .map(|(r_i, (min_remaining_ms, ix))| {
                                let sizes = ix
                                    .into_iter()
                                    .enumerate()
                                    .map(|(s_i, i)| {
                                        size(format!("hints[{h_i}].{kind}[{t_i}].rules[{r_i}][1][{s_i}]"), i)
                                    })
                                    .collect::<Result<_, _>>()?;
                                Ok::<_, (String, String)>(Rule { min_remaining_ms, sizes })
                            })
                            .collect::<Result<_, _>>()?;
                        Ok(RuleTable { rules })
                    })
                    .collect()
            };
            hints.push(Hint {
                fastest: size(format!("hints[{h_i}].fastest"), h.fastest)?,
                fallback: size(format!("hints[{h_i}].fallback"), h.fallback)?,
                tables: tables("tables", h.tables)?,
                alt_tables: tables("alt_tables", h.alt_tables)?,
                options: options.clone(),
                function: h.function,
            });
        }
        Ok(HintSet {
            schema_version: SCHEMA_VERSION,
            workflow: self.workflow,
            late: self.late,
            classes: self.classes,
            hints,
            summary: self.summary,
            plan: self.plan,
            provenance: self.provenance,
            warnings: self.warnings,
        })
    }
}

impl Serialize for HintSet {
    /// Always version 3. Fails only for a hint set that would not validate
    /// (a size that is not one of its function's options).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut hints = Vec::with_capacity(self.hints.len());
        for h in &self.hints {
            let index = |s: &Size| {
                h.options.iter().position(|o| o == s).ok_or_else(|| {
                    S::Error::custom(format!("function '{}': {s} is not one of its options", h.function))
                })
            };
            let tables = |ts: &[RuleTable]| -> Result<Vec<TableV3>, S::Error> {
                ts.iter()
                    .map(|t| {
                        let rules = t
                            .rules
                            .iter()
                            .map(|r| Ok((r.min_remaining_ms, r.sizes.iter().map(index).collect::<Result<_, _>>()?)))
                            .collect::<Result<_, S::Error>>()?;
                        Ok(TableV3 { rules })
                    })
                    .collect()
            };
            hints.push(HintV3 {
                function: h.function.clone(),
                fastest: index(&h.fastest)?,
                fallback: index(&h.fallback)?,
                tables: tables(&h.tables)?,
                alt_tables: tables(&h.alt_tables)?,
            });
        }
        HintSetOut {
            schema_version: SCHEMA_VERSION,
            workflow: &self.workflow,
            late: self.late,
            classes: &self.classes,
            hints,
            summary: &self.summary,
            plan: &self.plan,
            provenance: &self.provenance,
            warnings: &self.warnings,
        }
        .serialize(serializer)
    }
}
