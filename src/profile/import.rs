//! Importers: CSV files and ORION DAG_Profiler traces.

use super::{Profile, ProfileError, Samples};
use crate::model::{is_latency_ms, Size, MAX_LATENCY_MS};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ProfileError + '_ {
    move |source| ProfileError::Io { path: path.to_path_buf(), source }
}

fn parse_err(path: &Path, line: usize, message: impl Into<String>) -> ProfileError {
    ProfileError::Parse { path: path.display().to_string(), line, message: message.into() }
}

fn whole_file_err(path: &Path, message: impl Into<String>) -> ProfileError {
    ProfileError::Content { path: path.display().to_string(), message: message.into() }
}

/// Read a CSV with a header naming the columns `function`, `cpu_millis`,
/// `memory_mib`, `latency_ms` and optionally `key` (the request a sample was
/// measured on) and request features: one column `feature.<name>` per
/// feature (or a single column `feature`, named "feature"), in any order.
pub fn read_csv(path: &Path) -> Result<Profile, ProfileError> {
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(source) => ProfileError::Io { path: path.to_path_buf(), source },
        other => parse_err(path, 1, format!("{other:?}")),
    })?;
    let headers = rdr.headers().map_err(|e| parse_err(path, 1, e.to_string()))?.clone();
    // (Feature columns given twice are named by the feature check below.)
    let twice = |(i, h): &(usize, &str)| !h.starts_with("feature") && headers.iter().take(*i).any(|g| g == *h);
    if let Some(twice) = headers.iter().enumerate().find(twice) {
        return Err(parse_err(path, 1, format!("column {:?} appears twice", twice.1)));
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let need = |name: &str| {
        col(name).ok_or_else(|| {
            parse_err(
                path,
                1,
                format!(
                    "missing column '{name}' (need function, cpu_millis, memory_mib, latency_ms[, key][, feature.<name>...])"
                ),
            )
        })
    };
    let (cf, cc, cm, cl) = (need("function")?, need("cpu_millis")?, need("memory_mib")?, need("latency_ms")?);
    let ckey = col("key");
    let feature_cols: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| match h {
            "feature" => Some((i, "feature".to_string())),
            _ => h.strip_prefix("feature.").map(|n| (i, n.to_string())),
        })
        .collect();
    // A column Janus does not read is refused, not dropped: `kb` meant as a
    // feature would otherwise vanish and synthesis plan without it.
    let known = |i: &usize| [Some(cf), Some(cc), Some(cm), Some(cl), ckey].contains(&Some(*i));
    if let Some((_, h)) =
        headers.iter().enumerate().find(|(i, _)| !known(i) && !feature_cols.iter().any(|(c, _)| c == i))
    {
        return Err(parse_err(
            path,
            1,
            format!(
                "unknown column {h:?} (a request feature's column is named 'feature.<name>'; the others are function, cpu_millis, memory_mib, latency_ms and key: drop any other)"
            ),
        ));
    }
    if let Some((_, bad)) = feature_cols.iter().find(|(_, n)| crate::model::check_name(n).is_err()) {
        return Err(parse_err(path, 1, format!("feature column name {bad:?} is not a valid feature name")));
    }
    let mut acc: BTreeMap<(String, Size), Samples> = BTreeMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| parse_err(path, line, e.to_string()))?;
        let field = |c: usize, name: &str| {
            rec.get(c).filter(|s| !s.is_empty()).ok_or_else(|| parse_err(path, line, format!("empty '{name}'")))
        };
        let num = |c: usize, name: &str| -> Result<f64, ProfileError> {
            let s = field(c, name)?;
            s.parse::<f64>().map_err(|_| parse_err(path, line, format!("'{name}' is not a number: {s:?}")))
        };
        let int = |c: usize, name: &str| -> Result<u32, ProfileError> {
            let s = field(c, name)?;
            match s.parse::<u32>() {
                Ok(v) if v > 0 => Ok(v),
                _ => Err(parse_err(path, line, format!("'{name}' must be a positive integer, got {s:?}"))),
            }
        };
        let function = field(cf, "function")?.to_string();
        let size = Size::new(int(cc, "cpu_millis")?, int(cm, "memory_mib")?);
        let lat = num(cl, "latency_ms")?;
        if !is_latency_ms(lat) {
            return Err(parse_err(path, line, format!("latency_ms must be in [0, {MAX_LATENCY_MS:e}], got {lat:?}")));
        }
        let slot = acc.entry((function, size)).or_default();
        slot.latencies.push(lat);
        if let Some(c) = ckey {
            slot.keys.get_or_insert_with(Vec::new).push(field(c, "key")?.to_string());
        }
        if !feature_cols.is_empty() {
            let mut v = Vec::with_capacity(feature_cols.len());
            for (c, name) in &feature_cols {
                let f = num(*c, name)?;
                if !f.is_finite() {
                    return Err(parse_err(path, line, format!("feature '{name}' must be finite, got {f:?}")));
                }
                v.push(f);
            }
            slot.features.get_or_insert_with(Vec::new).push(v);
        }
    }
    if acc.is_empty() {
        return Err(parse_err(path, 1, "no samples after the header"));
    }
    let names = feature_cols.into_iter().map(|(_, n)| n).collect();
    let mut p = Profile::named(names).map_err(|e| parse_err(path, 1, format!("header: {e}")))?;
    for ((f, s), samples) in acc {
        p.add(&f, s, samples)?;
    }
    Ok(p)
}

/// AWS Lambda gives a function CPU in proportion to its memory: one full
/// vCPU at 1769 MB. ORION traces name sizes by memory only.
pub fn lambda_size(memory_mb: u32) -> Size {
    let cpu = ((f64::from(memory_mb) * 1000.0) / 1769.0).round().max(1.0) as u32;
    Size::new(cpu, memory_mb)
}

/// An ORION trace folder: `rsc_<MB>_<MB>_<MB>.txt` files, one line per
/// execution of the whole workflow, `Name:milliseconds` tokens.
#[derive(Debug, Clone)]
pub struct OrionTrace {
    /// All samples, keyed `<file stem>:<line>`: the samples of one execution
    /// share a key across stages; each size was measured in separate
    /// executions, so no key spans two sizes (a replay couples sizes by a
    /// stated rule).
    pub profile: Profile,
    /// Stage names in order of first appearance.
    pub stages: Vec<String>,
    /// Sizes found (one per file), ascending.
    pub sizes: Vec<Size>,
    /// The files read, for messages.
    pub files: Vec<PathBuf>,
}

pub fn read_orion(dir: &Path) -> Result<OrionTrace, ProfileError> {
    let mut files: Vec<(u32, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(rest) = name.strip_prefix("rsc_").and_then(|r| r.strip_suffix(".txt")) {
            let mb: Vec<&str> = rest.split('_').collect();
            let first = mb.first().and_then(|m| m.parse::<u32>().ok());
            match first {
                Some(m) if m > 0 && mb.iter().all(|x| *x == mb[0]) => files.push((m, path)),
                _ => {
                    return Err(parse_err(
                        &path,
                        0,
                        "file name must be rsc_<MB>_<MB>_..._<MB>.txt with one memory size",
                    ))
                }
            }
        }
    }
    if files.is_empty() {
        return Err(whole_file_err(dir, "no rsc_<MB>_..._<MB>.txt trace files in this folder"));
    }
    files.sort();
    let mut profile = Profile::new();
    let mut stages: Vec<String> = Vec::new();
    for (mb, path) in &files {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let size = lambda_size(*mb);
        let mut cols: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut keys: Vec<String> = Vec::new();
        let stem = path.file_stem().and_then(|n| n.to_str()).unwrap_or("trace").to_string();
        let mut nlines = 0usize;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            nlines += 1;
            keys.push(format!("{stem}:{}", i + 1));
            let mut seen: BTreeMap<&str, f64> = BTreeMap::new();
            for tok in line.split_whitespace() {
                let (name, val) = tok
                    .split_once(':')
                    .ok_or_else(|| parse_err(path, i + 1, format!("token {tok:?} is not Name:milliseconds")))?;
                let v: f64 = val
                    .parse()
                    .map_err(|_| parse_err(path, i + 1, format!("latency of '{name}' is not a number: {val:?}")))?;
                if !is_latency_ms(v) {
                    return Err(parse_err(
                        path,
                        i + 1,
                        format!("latency of '{name}' must be in [0, {MAX_LATENCY_MS:e}] ms, got {v:?}"),
                    ));
                }
                if name == "E2E" {
                    continue;
                }
                if seen.insert(name, v).is_some() {
                    return Err(parse_err(path, i + 1, format!("stage '{name}' appears twice")));
                }
                if !stages.iter().any(|s| s == name) {
                    stages.push(name.to_string());
                }
            }
            for s in &stages {
                let v = seen
                    .get(s.as_str())
                    .ok_or_else(|| parse_err(path, i + 1, format!("stage '{s}' is missing from this execution")))?;
                cols.entry(s.clone()).or_default().push(*v);
            }
            if seen.len() != stages.len() || cols.values().any(|c| c.len() != nlines) {
                return Err(parse_err(path, i + 1, "this execution names a stage the earlier lines do not have"));
            }
        }
        if nlines == 0 || cols.is_empty() {
            return Err(whole_file_err(path, "no executions with stage latencies in this trace file"));
        }
        for (name, lat) in cols {
            profile.add(&name, size, Samples::new(lat).with_keys(keys.clone()))?;
        }
    }
    let mut sizes: Vec<Size> = files.iter().map(|(m, _)| lambda_size(*m)).collect();
    sizes.dedup();
    Ok(OrionTrace { profile, stages, sizes, files: files.into_iter().map(|(_, p)| p).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn csv_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.csv");
        std::fs::File::create(&p)
            .unwrap()
            .write_all(b"function,cpu_millis,memory_mib,latency_ms\nf,1000,512,12.5\nf,1000,512,oops\n")
            .unwrap();
        let err = read_csv(&p).unwrap_err().to_string();
        assert!(err.contains("p.csv:3") && err.contains("oops"), "{err}");
    }

    #[test]
    fn csv_refuses_a_column_it_would_drop_and_a_column_given_twice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.csv");
        let read = |text: &str| {
            std::fs::write(&p, text).unwrap();
            read_csv(&p).map(|_| ()).map_err(|e| e.to_string())
        };
        // `kb` meant as a feature: refused, naming the column and the fix.
        let err = read("function,cpu_millis,memory_mib,latency_ms,kb\nf,1000,512,12.5,3\n").unwrap_err();
        assert!(
            err.contains("p.csv:1") && err.contains("unknown column \"kb\"") && err.contains("feature.<name>"),
            "{err}"
        );
        let err = read("function,cpu_millis,memory_mib,latency_ms,key,key\nf,1000,512,12.5,a,b\n").unwrap_err();
        assert!(err.contains("column \"key\" appears twice"), "{err}");
        assert!(read("function,cpu_millis,memory_mib,latency_ms,key,feature,feature.kb\nf,1000,512,1,a,2,3\n").is_ok());
    }

    #[test]
    fn csv_reads_features() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.csv");
        std::fs::write(
            &p,
            "latency_ms,function,key,cpu_millis,memory_mib,feature.kb,feature.items\n10,f,r1,1000,512,1.5,7\n20,f,r2,1000,512,3,8\n",
        )
        .unwrap();
        let prof = read_csv(&p).unwrap();
        let s = prof.get("f", &Size::new(1000, 512)).unwrap();
        assert_eq!(s.latencies, vec![10.0, 20.0]);
        assert_eq!(prof.feature_names(), &["kb".to_string(), "items".to_string()]);
        assert_eq!(s.features, Some(vec![vec![1.5, 7.0], vec![3.0, 8.0]]));
        assert_eq!(s.keys, Some(vec!["r1".to_string(), "r2".to_string()]));
    }

    #[test]
    fn orion_missing_stage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rsc_1000_1000.txt"), "E2E:30 A:10 B:20\nE2E:30 A:12\n").unwrap();
        let err = read_orion(dir.path()).unwrap_err().to_string();
        assert!(err.contains("rsc_1000_1000.txt:2") && err.contains("'B'"), "{err}");
    }

    #[test]
    fn lambda_cpu_is_proportional_to_memory() {
        assert_eq!(lambda_size(1769).cpu_millis, 1000);
        assert_eq!(lambda_size(10240).cpu_millis, 5789);
    }
}
