//! The service in-process on a loopback port, driven over real HTTP/1.1
//! (a minimal keep-alive client on a TcpStream). The process-level tests
//! (another process, kill -9) are in tests/test_serve.py.

use super::{start, ResynthConfig, ServeConfig, Server};
use crate::adapter::fixture::{classed_hints_and_profile, BIG, SMALL};
use crate::adapter::{Adapter, Query};
use crate::hints::HintSet;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One keep-alive connection.
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    fn new(s: &Server) -> Client {
        let w = TcpStream::connect(s.addr()).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client { r: BufReader::new(w.try_clone().unwrap()), w }
    }

    fn raw(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let head = format!("{method} {path} HTTP/1.1\r\nhost: t\r\ncontent-length: {}\r\n\r\n", body.len());
        self.w.write_all(head.as_bytes()).unwrap();
        self.w.write_all(body).unwrap();
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut len = 0usize;
        loop {
            line.clear();
            self.r.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut b = vec![0; len];
        self.r.read_exact(&mut b).unwrap();
        (status, String::from_utf8(b).unwrap())
    }

    fn json(&mut self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let (st, text) = self.raw(method, path, &bytes);
        (st, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

fn setup(dir: &Path) -> (PathBuf, HintSet) {
    let (h, p) = classed_hints_and_profile();
    let hints = dir.join("feat.hints.json");
    h.save(&hints).unwrap();
    std::fs::write(dir.join("feat.profile.json"), p.to_json()).unwrap();
    (hints, h)
}

fn config(dir: &Path, hints: &Path) -> ServeConfig {
    let mut c = ServeConfig::new(vec![hints.to_path_buf()], dir.join("data"));
    c.listen = "127.0.0.1:0".into();
    c.profiles = vec![dir.join("feat.profile.json")];
    c
}

fn kind(v: &Value) -> &str {
    v["error"]["kind"].as_str().unwrap_or("")
}

#[test]
fn decisions_equal_the_adapters_and_bad_input_is_a_json_4xx() {
    let d = tempfile::tempdir().unwrap();
    let (hints, h) = setup(d.path());
    let s = start(config(d.path(), &hints)).unwrap();
    let a = Adapter::new(h);
    let mut c = Client::new(&s);
    let (mut late, mut overdue) = (0, 0);
    for (el, x) in [(0.0, 1.0), (0.0, 11.5), (500.0, 11.5), (2000.0, 1.0)] {
        let (st, v) =
            c.json("POST", "/v1/workflows/feat/decide", json!({"function": "a", "elapsed_ms": el, "features": [x]}));
        assert_eq!(st, 200, "{v}");
        let want = a.decide("a", &Query { elapsed_ms: el, features: Some(&[x]), ..Query::default() }).unwrap();
        late += usize::from(want.late);
        overdue += usize::from(want.remaining_ms < 0.0);
        assert_eq!(v["size"]["cpu_millis"], want.size.cpu_millis);
        assert_eq!(v["late"], want.late);
        assert_eq!(v["remaining_ms"].as_f64().unwrap(), want.remaining_ms);
        assert_eq!(v["input_class"], json!(want.class));
    }
    let (_, m) = c.raw("GET", "/metrics", b"");
    assert!(late > 0, "the cases include a run that can no longer make it");
    for (name, n) in [("late", late), ("overdue", overdue)] {
        let line = format!(r#"janus_{name}_decisions_total{{workflow="feat",function="a"}} {n}"#);
        assert!(m.contains(&line), "{line} not in {m}");
    }
    let batch = json!({"requests": [
        {"function": "a", "elapsed_ms": 0, "features": {"bytes": 12}, "run_key": "act-1"},
        {"function": "b", "elapsed_ms": 700, "free": {"cpu_millis": 2000, "memory_mib": 1024}},
    ]});
    let (st, v) = c.json("POST", "/v1/workflows/feat/decide_batch", batch);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["decisions"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["decisions"][1]["fits"],
        a.decide("b", &Query { elapsed_ms: 700.0, free: Some(SMALL), ..Query::default() }).unwrap().fits
    );

    // (method, path, body, status, error kind, part of the message)
    type Case = (&'static str, &'static str, Vec<u8>, u16, &'static str, &'static str);
    let cases: Vec<Case> = vec![
        ("POST", "/v1/workflows/feat/decide", b"{not json".to_vec(), 400, "bad_request", "malformed JSON"),
        (
            "POST",
            "/v1/workflows/feat/decide",
            br#"{"function":"a","elapsed_ms":"soon"}"#.to_vec(),
            400,
            "bad_request",
            "elapsed_ms",
        ),
        (
            "POST",
            "/v1/workflows/feat/decide",
            br#"{"function":"zz","elapsed_ms":1}"#.to_vec(),
            400,
            "adapter",
            "unknown function 'zz'",
        ),
        (
            "POST",
            "/v1/workflows/feat/decide",
            br#"{"function":"a","elapsed_ms":-5}"#.to_vec(),
            400,
            "adapter",
            "elapsed_ms",
        ),
        (
            "POST",
            "/v1/workflows/feat/decide",
            br#"{"function":"a","elapsed_ms":1e300}"#.to_vec(),
            400,
            "bad_request",
            "wrong unit",
        ),
        (
            "POST",
            "/v1/workflows/nope/decide",
            br#"{"function":"a","elapsed_ms":1}"#.to_vec(),
            404,
            "unknown_workflow",
            "unknown workflow 'nope'",
        ),
        ("POST", "/v1/workflows/feat/decide", vec![b' '; 2 << 20], 413, "too_large", "larger than"),
        ("GET", "/v1/workflows/feat/decide", vec![], 405, "method_not_allowed", "GET"),
        ("GET", "/nowhere", vec![], 404, "not_found", "/nowhere"),
        (
            "POST",
            "/v1/workflows/feat/decide_batch",
            br#"{"requests":[{"function":"a","elapsed_ms":1},{"function":"a","elapsed_ms":-1}]}"#.to_vec(),
            400,
            "adapter",
            "requests[1]",
        ),
        (
            "POST",
            "/v1/workflows/feat/observe",
            br#"{"function":"a","size":{"cpu_millis":3,"memory_mib":3},"latency_ms":1}"#.to_vec(),
            400,
            "adapter",
            "not an option",
        ),
        ("PUT", "/v1/workflows/feat/hints", br#"{"schema_version": 2}"#.to_vec(), 400, "hints", "not a valid hint set"),
    ];
    for (m, path, body, status, k, msg) in cases {
        // A fresh connection each time: an oversized body may close it.
        let mut c = Client::new(&s);
        let (st, text) = c.raw(m, path, &body);
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{m} {path}: not JSON: {text}"));
        assert_eq!((st, kind(&v)), (status, k), "{m} {path}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(msg), "{m} {path}: {v}");
        let (st, _) = Client::new(&s).json("GET", "/health", Value::Null);
        assert_eq!(st, 200, "healthy after {m} {path}");
    }
    let (_, metrics) = Client::new(&s).raw("GET", "/metrics", b"");
    assert!(metrics.contains(r#"janus_request_errors_total{kind="adapter"} 4"#), "{metrics}");
    assert!(metrics.contains("janus_decision_seconds_bucket"));
    s.stop();
}

#[test]
fn acknowledged_observations_survive_a_restart_and_swaps_start_new_windows() {
    let d = tempfile::tempdir().unwrap();
    let (hints, h) = setup(d.path());
    let s = start(config(d.path(), &hints)).unwrap();
    let mut c = Client::new(&s);
    let obs = |ms: f64, x: f64| json!({"function": "a", "size": SMALL, "latency_ms": ms, "features": [x]});
    for i in 0..5 {
        let (st, v) = c.json("POST", "/v1/workflows/feat/observe", obs(100.0 + f64::from(i), 1.0));
        assert_eq!(st, 200, "{v}");
    }
    let (st, v) = c.json(
        "POST",
        "/v1/workflows/feat/observe_batch",
        json!({"observations": [obs(950.0, 12.0), obs(960.0, 12.0)]}),
    );
    assert_eq!((st, v["acknowledged"].as_u64()), (200, Some(2)), "{v}");
    s.stop();

    let s = start(config(d.path(), &hints)).unwrap();
    let mut c = Client::new(&s);
    let (_, v) = c.json("GET", "/v1/workflows/feat/observations", Value::Null);
    assert_eq!(v["count"], 7, "{v}");
    let classes: Vec<(u64, u64)> = v["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["class"].as_u64().unwrap(), w["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(classes, vec![(0, 5), (1, 2)]);
    // A new hint set through the API: generation 2, empty windows, in force after a restart.
    let mut h2 = h.clone();
    h2.provenance.synthesis = "replaced".into();
    let (st, v) = c.json("PUT", "/v1/workflows/feat/hints", serde_json::to_value(&h2).unwrap());
    assert_eq!((st, v["generation"].as_u64(), v["replaced"].as_bool()), (200, Some(2), Some(true)), "{v}");
    let (_, v) = c.json("GET", "/v1/workflows/feat/observations", Value::Null);
    assert_eq!(v["count"], 0);
    c.json("POST", "/v1/workflows/feat/observe", obs(120.0, 1.0));
    s.stop();

    let s = start(config(d.path(), &hints)).unwrap();
    let mut c = Client::new(&s);
    let (_, text) = c.raw("GET", "/v1/workflows/feat/hints", b"");
    assert_eq!(HintSet::from_json(&text, "t").unwrap(), h2, "the API's hint set stays in force");
    let (_, v) = c.json("GET", "/v1/workflows/feat/observations", Value::Null);
    assert_eq!((v["generation"].as_u64(), v["count"].as_u64()), (Some(2), Some(1)), "{v}");
    s.stop();

    // The operator ships a new --hints file: it wins, with fresh windows.
    let mut h3 = h.clone();
    h3.provenance.synthesis = "shipped".into();
    h3.save(&hints).unwrap();
    let s = start(config(d.path(), &hints)).unwrap();
    let mut c = Client::new(&s);
    let (_, text) = c.raw("GET", "/v1/workflows/feat/hints", b"");
    assert_eq!(HintSet::from_json(&text, "t").unwrap(), h3);
    let (_, v) = c.json("GET", "/v1/workflows/feat/observations", Value::Null);
    assert_eq!((v["generation"].as_u64(), v["count"].as_u64()), (Some(3), Some(0)), "{v}");
    s.stop();
}

#[test]
fn drift_triggers_a_background_resynthesis_that_is_swapped_in() {
    let d = tempfile::tempdir().unwrap();
    let (hints, _) = setup(d.path());
    let mut cfg = config(d.path(), &hints);
    cfg.drift_every = Duration::from_millis(50);
    cfg.resynth = Some(ResynthConfig { threshold: 1.2, min_samples: 3 });
    let s = start(cfg).unwrap();
    let mut c = Client::new(&s);
    let before = c.json("POST", "/v1/workflows/feat/decide", json!({"function": "b", "elapsed_ms": 400})).1;
    assert_eq!(before["size"], json!(SMALL), "400 ms of b at SMALL fits in 600 ms");
    // b now takes 2x as long at both sizes.
    for (size, ms) in [(SMALL, 800.0), (BIG, 200.0)] {
        for _ in 0..3 {
            let (st, v) =
                c.json("POST", "/v1/workflows/feat/observe", json!({"function": "b", "size": size, "latency_ms": ms}));
            assert_eq!(st, 200, "{v}");
        }
    }
    let t = Instant::now();
    let generation = loop {
        let (_, v) = c.json("GET", "/v1/workflows", Value::Null);
        let g = v["workflows"][0]["generation"].as_u64().unwrap();
        if g > 1 || t.elapsed() > Duration::from_secs(20) {
            break g;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(generation, 2, "re-synthesised and swapped in");
    let after = c.json("POST", "/v1/workflows/feat/decide", json!({"function": "b", "elapsed_ms": 400})).1;
    assert_eq!(after["size"], json!(BIG), "800 ms of b at SMALL no longer fits");
    let (_, m) = c.raw("GET", "/metrics", b"");
    // The gauge holds the last check: 2 (what triggered the re-synthesis), or
    // 1 when the next check (every 50 ms) already measured the same
    // observations against the corrected profile now in force.
    let drift = r#"janus_drift_ratio{workflow="feat",function="b"} "#;
    assert!(m.contains(&format!("{drift}2")) || m.contains(&format!("{drift}1.0")), "{m}");
    assert!(m.contains(r#"janus_hint_swaps_total{workflow="feat",origin="resynth"} 1"#), "{m}");
    s.stop();
}

#[test]
fn a_slow_client_is_cut_off_while_others_are_served() {
    let d = tempfile::tempdir().unwrap();
    let (hints, _) = setup(d.path());
    let mut cfg = config(d.path(), &hints);
    cfg.read_timeout = Duration::from_millis(300);
    let s = start(cfg).unwrap();
    let mut slow = TcpStream::connect(s.addr()).unwrap();
    slow.write_all(b"POST /v1/workflows/feat/decide HTTP/1.1\r\nhost: t\r\n").unwrap();
    let (st, _) = Client::new(&s).json("GET", "/health", Value::Null);
    assert_eq!(st, 200);
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf); // EOF (or a 408) once the deadline passes
    assert!(t.elapsed() < Duration::from_secs(4), "the slow connection was closed by the service");
    s.stop();
}
