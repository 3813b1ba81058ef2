//! Serving a router on a listener: HTTP/1.1 (with upgrades, for the paper
//! exchange's stream) on hyper's connection builder with a timer, so each
//! request head must arrive within the configured time. `axum::serve` sets
//! no timer, and without one hyper never times a head out: a client trickling
//! header bytes (slow-loris style), or one that opens connections and sends
//! nothing, would hold a socket for ever. A request body is bounded by the
//! router's request timeout.
//!
//! A shutdown stops accepting, asks every open connection to finish the
//! request under way and close, and returns once all have closed.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Serves `router` on `listener` until `shutdown` completes, then drains.
/// Each request carries the peer's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    // Told to every connection when the shutdown comes; each holds a
    // receiver of `closed` while it lives, so the sender learns when the
    // last one has gone.
    let (stopping, told) = tokio::sync::watch::channel(false);
    let (closed, open) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let mut told = told.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let _open = open;
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                ended = connection.as_mut() => {
                    if let Err(e) = ended {
                        tracing::trace!(error = %e, "connection ended");
                    }
                    return;
                }
                _ = told.wait_for(|stop| *stop) => {}
            }
            connection.as_mut().graceful_shutdown();
            if let Err(e) = connection.await {
                tracing::trace!(error = %e, "connection ended while draining");
            }
        });
    }
    drop(listener);
    drop(open);
    let _ = stopping.send(true);
    closed.closed().await;
}
