//! The HTTP API (JSON). Every failure is a 4xx/5xx with
//! `{"error": {"kind", "message"}}`; see the README's API table.

use super::call;
use super::error::{ApiError, ErrorKind};
use super::state::{Installed, Served, State};
use super::wire::{
    check_batch, parse, DecideBatch, DecideRequest, DecisionOut, DriftRequest, ObserveBatch, ObserveRequest,
};
use crate::adapter::drift::{check_comparable, drift_by_function};
use crate::adapter::{Decision, LogRecord};
use crate::hints::HintSet;
use crate::profile::Profile;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

pub type St = axum::extract::State<Arc<State>>;

/// A decide/observe body, at most `max_body` bytes (else 413, as JSON).
pub struct SmallBody(pub Bytes);
/// A hint-set or profile upload, at most `max_upload` bytes.
pub struct UploadBody(pub Bytes);

async fn read_body(req: Request, st: &Arc<State>, limit: usize, what: &str) -> Result<Bytes, ApiError> {
    // The limit itself is applied per route (DefaultBodyLimit in http.rs).
    match Bytes::from_request(req, st).await {
        Ok(b) => Ok(b),
        Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::TooLarge(format!("the {what} body is larger than {limit} bytes")))
        }
        Err(e) => Err(ApiError::BadRequest(format!("could not read the request body: {}", e.body_text()))),
    }
}

impl FromRequest<Arc<State>> for SmallBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, st: &Arc<State>) -> Result<Self, ApiError> {
        read_body(req, st, st.config.max_body, "request").await.map(SmallBody)
    }
}

impl FromRequest<Arc<State>> for UploadBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, st: &Arc<State>) -> Result<Self, ApiError> {
        read_body(req, st, st.config.max_upload, "upload").await.map(UploadBody)
    }
}

/// The `{workflow}` path segment, with a JSON error if it is unreadable.
pub struct Wf(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Wf {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, st)
            .await
            .map(|Path(w)| Wf(w))
            .map_err(|e| ApiError::BadRequest(format!("workflow in the path: {}", e.body_text())))
    }
}

pub async fn health(axum::extract::State(st): St) -> Json<Value> {
    let names: Vec<String> = st.workflows.load().keys().cloned().collect();
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "workflows": names}))
}

pub async fn metrics(axum::extract::State(st): St) -> Response {
    let ct = HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
    ([(header::CONTENT_TYPE, ct)], st.metrics.encode()).into_response()
}

fn describe(s: &Served) -> Value {
    let inst = s.installed.load();
    let functions = s.adapter.with_hints(|h| h.hints.iter().map(|x| x.function.clone()).collect::<Vec<_>>());
    json!({
        "workflow": s.name,
        "generation": inst.generation,
        "digest": inst.digest,
        "origin": inst.origin,
        "functions": functions,
        "features": inst.schema.names,
        "observed": s.adapter.observations().count(),
        "observed_total": s.adapter.observations().total(),
        "has_baseline_profile": s.baseline.load().is_some(),
    })
}

pub async fn list(axum::extract::State(st): St) -> Json<Value> {
    let all: Vec<Value> = st.workflows.load().values().map(|s| describe(s)).collect();
    Json(json!({ "workflows": all }))
}

pub async fn get_hints(axum::extract::State(st): St, Wf(wf): Wf) -> Result<Response, ApiError> {
    let s = st.get(&wf)?;
    let generation = s.installed.load().generation;
    let body = s.adapter.with_hints(HintSet::to_json_compact);
    let ct = HeaderValue::from_static("application/json");
    Ok(([(header::CONTENT_TYPE, ct)], [("x-janus-generation", generation.to_string())], body).into_response())
}

pub async fn put_hints(
    axum::extract::State(st): St,
    Wf(wf): Wf,
    UploadBody(b): UploadBody,
) -> Result<Json<Value>, ApiError> {
    let text = std::str::from_utf8(&b).map_err(|e| ApiError::BadRequest(format!("the body is not UTF-8: {e}")))?;
    let h = HintSet::from_json(text, "request body")?;
    if h.workflow.name() != wf {
        return Err(ApiError::BadRequest(format!(
            "the hint set is for workflow '{}', the path says '{wf}'",
            h.workflow.name()
        )));
    }
    let (s, replaced) = st.install(h, "api", None).await?;
    let mut v = describe(&s);
    v["replaced"] = json!(replaced);
    Ok(Json(v))
}

fn count_decision(inst: &Installed, function: &str, d: &Decision) {
    if let Some(m) = inst.metrics.get(function) {
        m.decisions.inc();
        if d.late {
            m.late.inc();
        }
        if d.remaining_ms < 0.0 {
            m.overdue.inc();
        }
    }
}

pub async fn decide(
    axum::extract::State(st): St,
    Wf(wf): Wf,
    SmallBody(b): SmallBody,
) -> Result<Json<DecisionOut>, ApiError> {
    let t = Instant::now();
    let r: DecideRequest = parse(&b)?;
    let s = st.get(&wf)?;
    let inst = s.installed.load();
    let d = call::decide(&s.adapter, &inst.schema, &r)?;
    count_decision(&inst, &r.function, &d);
    st.timers.decide.observe(t.elapsed().as_secs_f64());
    Ok(Json(d.into()))
}

pub async fn decide_batch(
    axum::extract::State(st): St,
    Wf(wf): Wf,
    SmallBody(b): SmallBody,
) -> Result<Json<Value>, ApiError> {
    let t = Instant::now();
    let batch: DecideBatch = parse(&b)?;
    check_batch("requests", batch.requests.len())?;
    let s = st.get(&wf)?;
    let inst = s.installed.load();
    let mut out = Vec::with_capacity(batch.requests.len());
    for (i, r) in batch.requests.iter().enumerate() {
        let d = call::decide(&s.adapter, &inst.schema, r).map_err(|e| e.at("requests", i))?;
        out.push(d);
    }
    for (r, d) in batch.requests.iter().zip(&out) {
        count_decision(&inst, &r.function, d);
    }
    let decisions: Vec<DecisionOut> = out.into_iter().map(Into::into).collect();
    st.timers.decide_batch.observe(t.elapsed().as_secs_f64());
    Ok(Json(json!({ "decisions": decisions })))
}

/// Check, log durably, then record: acknowledged means on disk.
async fn observe_all(st: &State, s: &Served, list: &[ObserveRequest]) -> Result<Value, ApiError> {
    let inst = s.installed.load_full();
    let mut classes = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let c = call::check_observation(&s.adapter, &inst.schema, r);
        classes.push(if list.len() == 1 { c? } else { c.map_err(|e| e.at("observations", i))? });
    }
    let records = list
        .iter()
        .zip(&classes)
        .map(|(r, &class)| LogRecord::Obs {
            wf: s.name.clone(),
            g: inst.generation,
            function: r.function.clone(),
            cpu: r.size.cpu_millis,
            mem: r.size.memory_mib,
            class,
            ms: r.latency_ms,
        })
        .collect();
    st.writer.append(records).await.map_err(ApiError::Unavailable)?;
    let obs = s.adapter.observations();
    for (r, &class) in list.iter().zip(&classes) {
        // A swap since the check: the record is logged under the old generation only.
        obs.record_in(inst.epoch, &r.function, r.size, class, r.latency_ms);
        if let Some(m) = inst.metrics.get(&r.function) {
            m.observations.inc();
            if let Some(h) = m.observed_ms.get(&r.size) {
                h.observe(r.latency_ms);
            }
        }
    }
    Ok(json!({"acknowledged": list.len(), "generation": inst.generation, "classes": classes}))
}

pub async fn observe(
    axum::extract::State(st): St,
    Wf(wf): Wf,
    SmallBody(b): SmallBody,
) -> Result<Json<Value>, ApiError> {
    let r: ObserveRequest = parse(&b)?;
    let s = st.get(&wf)?;
    observe_all(&st, &s, std::slice::from_ref(&r)).await.map(Json)
}

pub async fn observe_batch(
    axum::extract::State(st): St,
    Wf(wf): Wf,
    SmallBody(b): SmallBody,
) -> Result<Json<Value>, ApiError> {
    let batch: ObserveBatch = parse(&b)?;
    check_batch("observations", batch.observations.len())?;
    let s = st.get(&wf)?;
    observe_all(&st, &s, &batch.observations).await.map(Json)
}

pub async fn observations(axum::extract::State(st): St, Wf(wf): Wf) -> Result<Json<Value>, ApiError> {
    let s = st.get(&wf)?;
    let inst = s.installed.load();
    let o = s.adapter.observations();
    let windows: Vec<Value> = o
        .windows()
        .into_iter()
        .map(|w| json!({"function": w.function, "size": w.size, "class": w.class, "count": w.count, "mean_ms": w.mean_ms}))
        .collect();
    Ok(Json(json!({
        "generation": inst.generation,
        "count": o.count(),
        "total": o.total(),
        "window": o.window(),
        "windows": windows,
    })))
}

pub async fn observed_profile(axum::extract::State(st): St, Wf(wf): Wf) -> Result<Response, ApiError> {
    let s = st.get(&wf)?;
    let p = s.adapter.observations().to_profile().map_err(|e| ApiError::Conflict(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], p.to_json()).into_response())
}

/// A profile to compare one drift query with: only functions of the served
/// workflow (another workflow's profile would answer "no drift").
fn profile_from(v: &Value, s: &Served) -> Result<Profile, ApiError> {
    let p = Profile::from_json(&v.to_string())
        .map_err(|e| ApiError::BadRequest(format!("profile: not a valid profile {e}")))?;
    check_comparable(&s.adapter.hints().workflow, &p).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(p)
}

/// A drift baseline must be a profile of the served workflow (every stage
/// and size, its features): drift checks and re-synthesis read it, and
/// another workflow's profile would leave both silently off.
fn baseline_for(p: Profile, s: &Served) -> Result<Profile, ApiError> {
    let hints = s.adapter.hints();
    p.check_covers(&hints.workflow)
        .map_err(|e| ApiError::BadRequest(format!("not a baseline for workflow '{}': {e}", s.name)))?;
    Ok(p)
}

pub async fn drift(
    axum::extract::State(st): St,
    Wf(wf): Wf,
    UploadBody(b): UploadBody,
) -> Result<Json<Value>, ApiError> {
    let r: DriftRequest = if b.is_empty() { parse(b"{}")? } else { parse(&b)? };
    let s = st.get(&wf)?;
    let given = r.profile.as_ref().map(|v| profile_from(v, &s)).transpose()?.map(Arc::new);
    let Some(p) = given.or_else(|| s.baseline.load_full()) else {
        return Err(ApiError::Conflict(format!(
            "workflow '{wf}' has no baseline profile: send one in \"profile\", PUT it to /v1/workflows/{wf}/profile, \
             or start the service with --profile"
        )));
    };
    let o = s.adapter.observations();
    let per_size: Vec<Value> = o
        .drift(&p, r.min_samples)
        .into_iter()
        .map(|(f, size, ratio)| json!({"function": f, "size": size, "ratio": ratio}))
        .collect();
    let by_function = drift_by_function(o, &p, r.min_samples);
    Ok(Json(json!({"drift": per_size, "by_function": by_function})))
}

pub async fn get_profile(axum::extract::State(st): St, Wf(wf): Wf) -> Result<Response, ApiError> {
    let s = st.get(&wf)?;
    let Some(p) = s.baseline.load_full() else {
        return Err(ApiError::Conflict(format!("workflow '{wf}' has no baseline profile")));
    };
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], p.to_json()).into_response())
}

pub async fn put_profile(
    axum::extract::State(st): St,
    Wf(wf): Wf,
    UploadBody(b): UploadBody,
) -> Result<Json<Value>, ApiError> {
    let text = std::str::from_utf8(&b).map_err(|e| ApiError::BadRequest(format!("the body is not UTF-8: {e}")))?;
    let p = Profile::from_json(text).map_err(|e| ApiError::BadRequest(format!("not a valid profile {e}")))?;
    let s = st.get(&wf)?;
    let p = baseline_for(p, &s)?;
    let digest = p.digest();
    st.set_baseline(&s, p).await?;
    Ok(Json(json!({"workflow": wf, "profile_digest": digest})))
}

pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound { method: method.to_string(), path: uri.path().to_string() }
}

pub async fn not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method: method.to_string(), path: uri.path().to_string() }
}

/// Count refused requests by kind (`janus_request_errors_total`).
pub async fn count_errors(axum::extract::State(st): St, req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    if let Some(ErrorKind(kind)) = r.extensions().get::<ErrorKind>() {
        st.metrics.error(kind);
    } else if r.status().is_client_error() || r.status().is_server_error() {
        st.metrics.error("other");
    }
    r
}
