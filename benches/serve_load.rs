//! Loopback load generator for `janus serve` (run by benches/serve_bench.py,
//! which starts the service in another process).
//!
//! ```text
//! cargo bench --features serve --bench serve_load -- \
//!     --addr 127.0.0.1:PORT --workflow W --function F [--features-len K] \
//!     --rate R --seconds S --connections C [--batch B]
//! ```
//!
//! Open loop when `--rate` > 0: each of C keep-alive connections sends on a
//! fixed schedule (R/C per second) and a request's latency counts from its
//! *scheduled* send time, so a stalled service is not hidden by the client
//! waiting (no coordinated omission). `--rate 0` is closed loop: every
//! connection sends as fast as answers come. `--batch B` sends B decisions
//! per request (`decide_batch`). Prints one JSON object. Bounded: at most
//! S seconds, loopback addresses only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

struct Args {
    addr: SocketAddr,
    workflow: String,
    function: String,
    features_len: usize,
    rate: f64,
    seconds: f64,
    connections: usize,
    batch: usize,
}

fn parse_args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let get = |name: &str| argv.iter().position(|a| a == name).and_then(|i| argv.get(i + 1)).cloned();
    let num = |name: &str, default: f64| get(name).map_or(default, |v| v.parse().expect(name));
    let addr: SocketAddr = get("--addr").expect("--addr HOST:PORT").parse().expect("--addr");
    assert!(addr.ip().is_loopback(), "load is for loopback addresses only");
    Args {
        addr,
        workflow: get("--workflow").expect("--workflow"),
        function: get("--function").expect("--function"),
        features_len: num("--features-len", 0.0) as usize,
        rate: num("--rate", 1000.0),
        seconds: num("--seconds", 5.0).min(120.0),
        connections: num("--connections", 4.0) as usize,
        batch: num("--batch", 0.0) as usize,
    }
}

/// Request bodies with varied budgets and features, reused round robin.
fn bodies(a: &Args) -> Vec<Vec<u8>> {
    let one = |i: usize| {
        let elapsed = (i * 37 % 1000) as f64 * 1.3;
        let feats: Vec<String> = (0..a.features_len).map(|k| format!("{}", (i + k) % 13)).collect();
        let f = if a.features_len > 0 { format!(r#","features":[{}]"#, feats.join(",")) } else { String::new() };
        format!(r#"{{"function":"{}","elapsed_ms":{elapsed}{f},"run_key":{i}}}"#, a.function)
    };
    (0..256)
        .map(|i| {
            let (path, body) = if a.batch > 0 {
                let reqs: Vec<String> = (0..a.batch).map(|j| one(i * a.batch + j)).collect();
                ("decide_batch", format!(r#"{{"requests":[{}]}}"#, reqs.join(",")))
            } else {
                ("decide", one(i))
            };
            format!(
                "POST /v1/workflows/{}/{path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                a.workflow,
                body.len()
            )
            .into_bytes()
        })
        .collect()
}

/// Send one request and read its response; returns the status.
fn exchange(w: &mut TcpStream, r: &mut BufReader<TcpStream>, req: &[u8], line: &mut String) -> u16 {
    w.write_all(req).expect("send");
    line.clear();
    r.read_line(line).expect("status line");
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut len = 0usize;
    loop {
        line.clear();
        r.read_line(line).expect("header");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).expect("body");
    status
}

struct Result {
    /// From the scheduled send time (what a caller on that schedule waits).
    latencies_us: Vec<f64>,
    /// From the actual send (the round trip alone, without the generator's own delays).
    round_trips_us: Vec<f64>,
    /// How late the generator sent (its own wake-ups, or waiting for the previous answer).
    lags_us: Vec<f64>,
    errors: usize,
}

fn connection(a: &Args, c: usize, bodies: &[Vec<u8>], start: Instant) -> Result {
    let w = TcpStream::connect(a.addr).expect("connect");
    w.set_nodelay(true).ok();
    let mut r = BufReader::new(w.try_clone().expect("clone"));
    let mut w = w;
    let end = start + Duration::from_secs_f64(a.seconds);
    let interval = if a.rate > 0.0 { a.connections as f64 / a.rate } else { 0.0 };
    // Stagger the connections over one interval.
    let offset = interval * c as f64 / a.connections as f64;
    let mut out = Result { latencies_us: Vec::new(), round_trips_us: Vec::new(), lags_us: Vec::new(), errors: 0 };
    let mut line = String::new();
    let mut i = 0usize;
    loop {
        let scheduled =
            if interval > 0.0 { start + Duration::from_secs_f64(offset + interval * i as f64) } else { Instant::now() };
        if scheduled >= end {
            break;
        }
        let now = Instant::now();
        if scheduled > now {
            std::thread::sleep(scheduled - now);
        }
        let sent = Instant::now();
        out.lags_us.push(sent.saturating_duration_since(scheduled).as_secs_f64() * 1e6);
        let status = exchange(&mut w, &mut r, &bodies[(c * 7919 + i) % bodies.len()], &mut line);
        out.latencies_us.push(scheduled.elapsed().as_secs_f64() * 1e6);
        out.round_trips_us.push(sent.elapsed().as_secs_f64() * 1e6);
        if status != 200 {
            out.errors += 1;
        }
        i += 1;
    }
    out
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let a = parse_args();
    let bodies = bodies(&a);
    let start = Instant::now() + Duration::from_millis(50);
    let results: Vec<Result> = std::thread::scope(|s| {
        let (a, bodies) = (&a, &bodies);
        let hs: Vec<_> = (0..a.connections).map(|c| s.spawn(move || connection(a, c, bodies, start))).collect();
        hs.into_iter().map(|h| h.join().expect("connection thread")).collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let mut lat: Vec<f64> = results.iter().flat_map(|r| r.latencies_us.iter().copied()).collect();
    lat.sort_by(f64::total_cmp);
    let mut rt: Vec<f64> = results.iter().flat_map(|r| r.round_trips_us.iter().copied()).collect();
    rt.sort_by(f64::total_cmp);
    let mut lag: Vec<f64> = results.iter().flat_map(|r| r.lags_us.iter().copied()).collect();
    lag.sort_by(f64::total_cmp);
    let errors: usize = results.iter().map(|r| r.errors).sum();
    let per_request = a.batch.max(1);
    println!(
        "{{\"rate_target\":{},\"connections\":{},\"batch\":{},\"requests\":{},\"errors\":{},\"seconds\":{wall:.3},\"requests_per_s\":{:.1},\"decisions_per_s\":{:.1},\"p50_us\":{:.1},\"p90_us\":{:.1},\"p99_us\":{:.1},\"p999_us\":{:.1},\"max_us\":{:.1},\"rt_p50_us\":{:.1},\"rt_p99_us\":{:.1},\"rt_p999_us\":{:.1},\"lag_p99_us\":{:.1}}}",
        a.rate,
        a.connections,
        a.batch,
        lat.len(),
        errors,
        lat.len() as f64 / wall,
        (lat.len() * per_request) as f64 / wall,
        quantile(&lat, 0.5),
        quantile(&lat, 0.9),
        quantile(&lat, 0.99),
        quantile(&lat, 0.999),
        lat.last().copied().unwrap_or(f64::NAN),
        quantile(&rt, 0.5),
        quantile(&rt, 0.99),
        quantile(&rt, 0.999),
        quantile(&lag, 0.99),
    );
}
