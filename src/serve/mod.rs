//! `janus serve`: the adapter as an HTTP service on tokio + axum.
//!
//! One process serves the hint sets of any number of workflows: decisions
//! (one or a batch), observations (durable before they are acknowledged),
//! hint-set swaps, drift, and Prometheus metrics. See the README's
//! "For providers" section for the API and how to deploy it. No PyO3 here:
//! the binding calls [`serve`].

mod call;
mod config;
mod error;
mod handlers;
mod http;
mod metrics;
mod resynth;
mod state;
mod store;
#[cfg(test)]
mod tests;
mod wire;
mod writer;

pub use config::{ResynthConfig, ServeConfig, DEFAULT_LISTEN};
pub use error::{ApiError, ServeError};

use state::State;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// A running service (its own runtime and threads).
pub struct Server {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
    state: Arc<State>,
}

/// Open the data folder, load the hint sets, replay the log and listen.
/// Returns once the service accepts connections.
pub fn start(config: ServeConfig) -> Result<Server, ServeError> {
    let addr = config.validate()?;
    if !addr.ip().is_loopback() {
        eprintln!("janus serve: warning: listening on {addr}, reachable from other machines");
    }
    let threads = config.threads;
    let state = Arc::new(State::start(config)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("janus-serve")
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|source| ServeError::Bind { addr: addr.to_string(), source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: addr.to_string(), source })?;
    let (stop, rx) = watch::channel(false);
    let app = http::router(state.clone());
    let st = state.clone();
    let done = runtime.spawn(async move {
        let mut rx2 = rx.clone();
        let drift = tokio::spawn(resynth::drift_loop(st.clone(), async move {
            let _ = rx2.wait_for(|s| *s).await;
        }));
        let mut rx = rx;
        http::run(listener, app, st, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await;
        let _ = drift.await;
    });
    Ok(Server { runtime, addr, stop, done, state })
}

impl Server {
    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let in-flight requests finish, flush the log writer.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.runtime.block_on(self.done);
        self.runtime.shutdown_timeout(std::time::Duration::from_secs(1));
        let thread = self.state.writer_thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        // The writer thread ends once every handle to it is gone: wait for it
        // only when this is the last one (it is, once the runtime is down).
        match (Arc::try_unwrap(self.state), thread) {
            (Ok(state), Some(t)) => {
                drop(state);
                let _ = t.join();
            }
            (Err(_), Some(_)) => eprintln!("janus serve: the state is still in use; not waiting for the log writer"),
            _ => {}
        }
    }

    /// What the operator sees at start: where it listens and what it serves.
    pub fn banner(&self) -> String {
        let names: Vec<String> = self.state.workflows.load().keys().cloned().collect();
        format!(
            "janus serve: listening on http://{} (data folder {}; workflows: {})",
            self.addr,
            self.state.data.root().display(),
            names.join(", ")
        )
    }
}

/// Start, print the banner, serve until SIGINT/SIGTERM: the `janus serve` command.
pub fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let server = start(config)?;
    // Signal handlers are installed before the banner: a supervisor that
    // waits for the banner and sends SIGTERM gets a clean stop.
    use tokio::signal::unix::{signal, SignalKind};
    let (mut int, mut term) = server
        .runtime
        .block_on(async {
            Ok::<_, std::io::Error>((signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?))
        })
        .map_err(ServeError::Runtime)?;
    println!("{}", server.banner());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let which = server.runtime.block_on(async {
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    });
    eprintln!("janus serve: {which}: stopping");
    server.stop();
    Ok(())
}
