//! Routes and the connection loop: HTTP/1.1 keep-alive on tokio, a bound on
//! connections served at once, a deadline for a client to send its request
//! (slow clients are cut off), body limits per route, and a graceful stop.

use super::handlers as h;
use super::state::State;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// How long in-flight requests get to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(5);

pub fn router(st: Arc<State>) -> Router {
    let small = DefaultBodyLimit::max(st.config.max_body);
    let upload = DefaultBodyLimit::max(st.config.max_upload);
    let wf = "/v1/workflows/{workflow}";
    Router::new()
        .route("/health", get(h::health))
        .route("/metrics", get(h::metrics))
        .route("/v1/workflows", get(h::list))
        .route(&format!("{wf}/hints"), get(h::get_hints).put(h::put_hints).layer(upload))
        .route(&format!("{wf}/profile"), get(h::get_profile).put(h::put_profile).layer(upload))
        .route(&format!("{wf}/decide"), post(h::decide).layer(small))
        .route(&format!("{wf}/decide_batch"), post(h::decide_batch).layer(small))
        .route(&format!("{wf}/observe"), post(h::observe).layer(small))
        .route(&format!("{wf}/observe_batch"), post(h::observe_batch).layer(small))
        .route(&format!("{wf}/observations"), get(h::observations))
        .route(&format!("{wf}/observed_profile"), get(h::observed_profile))
        .route(&format!("{wf}/drift"), post(h::drift).layer(upload))
        .fallback(h::not_found)
        .method_not_allowed_fallback(h::not_allowed)
        .layer(axum::middleware::from_fn_with_state(st.clone(), h::count_errors))
        .layer(RequestBodyTimeoutLayer::new(st.config.read_timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(st)
}

/// A bug must not take the service down: answer 500 with JSON and go on.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body =
        serde_json::json!({"error": {"kind": "internal", "message": "internal error (a bug: please report it)"}});
    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

/// Serve `app` on `listener` until `stop` resolves, then drain.
pub async fn run(listener: TcpListener, app: Router, st: Arc<State>, stop: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(st.config.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(st.config.read_timeout).keep_alive(true);
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    eprintln!("janus serve: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => eprintln!("janus serve: connections still open after {DRAIN:?}: closing them"),
    }
}
